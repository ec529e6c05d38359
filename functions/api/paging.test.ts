import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../shared/errors/index.js';
import type { Page, PageRequest } from '../../shared/repositories/index.js';
import { encodeToken, type PageSource, pageAcross } from './paging.js';

/** A source over a fixed list with numeric cursors, as a repository pages a query. */
function listSource(items: readonly string[]): PageSource<string> {
  return async (page: PageRequest): Promise<Page<string>> => {
    const start = page.cursor === undefined ? 0 : Number(page.cursor);
    const end = start + (page.limit ?? 100);
    return { items: items.slice(start, end), ...(end < items.length ? { cursor: String(end) } : {}) };
  };
}

async function readAll(
  sources: PageSource<string>[],
  limit: number,
): Promise<{ items: string[]; pages: number }> {
  const items: string[] = [];
  let nextToken: string | undefined;
  let pages = 0;
  do {
    const page = await pageAcross(sources, limit, nextToken);
    expect(page.items.length).toBeLessThanOrEqual(limit);
    items.push(...page.items);
    nextToken = page.nextToken;
    pages += 1;
  } while (nextToken !== undefined);
  return { items, pages };
}

describe('pageAcross', () => {
  it('fills pages across sources in order', async () => {
    const sources = [listSource(['a1', 'a2', 'a3']), listSource([]), listSource(['c1', 'c2'])];
    const first = await pageAcross(sources, 4, undefined);
    expect(first.items).toEqual(['a1', 'a2', 'a3', 'c1']);
    const second = await pageAcross(sources, 4, first.nextToken);
    expect(second).toEqual({ items: ['c2'] });
  });

  it('reads every item exactly once, whatever the page size', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.string(), { maxLength: 12 }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 10 }),
        async (lists, limit) => {
          const { items } = await readAll(lists.map(listSource), limit);
          expect(items).toEqual(lists.flat());
        },
      ),
    );
  });

  it.each([
    ['not base64 json', 'bm90IGpzb24'],
    ['a source out of range', encodeToken({ source: 5 })],
    ['extra fields', Buffer.from(JSON.stringify({ source: 0, admin: true })).toString('base64url')],
  ])('refuses a token with %s, naming query.nextToken', async (_, token) => {
    const refusal = pageAcross([listSource(['a'])], 10, token);
    await expect(refusal).rejects.toBeInstanceOf(ValidationError);
    await expect(refusal).rejects.toMatchObject({ issues: [{ path: 'query.nextToken' }] });
  });

  it('reports a cursor the repository refuses as a bad token', async () => {
    const refusing: PageSource<string> = async () => {
      throw new ValidationError('invalid page request', [
        { path: 'cursor', message: 'is not a cursor this service issued' },
      ]);
    };
    const refusal = pageAcross([refusing], 10, encodeToken({ source: 0, cursor: 'forged' }));
    await expect(refusal).rejects.toMatchObject({ issues: [{ path: 'query.nextToken' }] });
  });
});
