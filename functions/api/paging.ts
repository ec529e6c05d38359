/**
 * `nextToken` of the list routes. A listing may run over several sources (e.g. every task
 * state, or a task's output then log dataset); the token names the source and the cursor
 * within it, base64url-encoded so it fits the NextToken field.
 */
import { z } from 'zod';
import { ValidationError } from '../../shared/errors/index.js';
import type { Page, PageRequest } from '../../shared/repositories/index.js';

export type PageSource<T> = (page: PageRequest) => Promise<Page<T>>;

const TokenSchema = z
  .object({ source: z.number().int().min(0), cursor: z.string().min(1).optional() })
  .strict();
type Token = z.infer<typeof TokenSchema>;

function badToken(): ValidationError {
  return new ValidationError('invalid query', [
    { path: 'query.nextToken', message: 'is not a token this API issued for this listing' },
  ]);
}

export function encodeToken(token: Token): string {
  return Buffer.from(JSON.stringify(token), 'utf8').toString('base64url');
}

function decodeToken(nextToken: string | undefined, sources: number): Token {
  if (nextToken === undefined) return { source: 0 };
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(nextToken, 'base64url').toString('utf8'));
  } catch {
    throw badToken();
  }
  const token = TokenSchema.safeParse(decoded);
  if (!token.success || token.data.source >= sources) throw badToken();
  return token.data;
}

/**
 * Up to `limit` items from the sources in order, starting where `nextToken` points; the
 * returned token continues after the last item. A page is filled across sources, so it is
 * short only at the end of the listing.
 */
export async function pageAcross<T>(
  sources: readonly PageSource<T>[],
  limit: number,
  nextToken: string | undefined,
): Promise<{ items: T[]; nextToken?: string }> {
  let { source, cursor } = decodeToken(nextToken, sources.length);
  const items: T[] = [];
  while (source < sources.length && items.length < limit) {
    let page: Page<T>;
    try {
      page = await sources[source]!({ limit: limit - items.length, cursor });
    } catch (error) {
      // The repository refuses a cursor that is not one of its keys: the token was tampered with.
      if (error instanceof ValidationError && error.issues.some((issue) => issue.path === 'cursor'))
        throw badToken();
      throw error;
    }
    items.push(...page.items);
    if (page.cursor !== undefined) {
      cursor = page.cursor;
    } else {
      source += 1;
      cursor = undefined;
    }
  }
  return source < sources.length ? { items, nextToken: encodeToken({ source, cursor }) } : { items };
}
