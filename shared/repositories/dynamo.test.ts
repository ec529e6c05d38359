import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors/index.js';
import { decodeCursor, encodeCursor, listAllPages, rejectDuplicates } from './dynamo.js';

describe('page cursors', () => {
  it('round-trip a LastEvaluatedKey and mark the last page by their absence', () => {
    const key = { taskId: 't-1', stateKey: 'READY#j-1' };

    const cursor = encodeCursor(key);

    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor)).toEqual(key);
    expect(encodeCursor(undefined)).toBeUndefined();
    expect(decodeCursor(undefined)).toBeUndefined();
  });

  it.each([
    ['not base64 JSON', 'not-a-cursor'],
    ['a JSON array', Buffer.from('[1]').toString('base64url')],
    ['JSON null', Buffer.from('null').toString('base64url')],
  ])('refuse %s with the field path', (_label, cursor) => {
    try {
      decodeCursor(cursor);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues).toEqual([
        { path: 'cursor', message: 'is not a cursor this service issued' },
      ]);
    }
  });
});

describe('rejectDuplicates', () => {
  it('names every repeated id by its position', () => {
    expect(() => rejectDuplicates(['a', 'b'], 'jobs')).not.toThrow();
    try {
      rejectDuplicates(['a', 'b', 'a', 'b'], 'jobs');
      expect.unreachable();
    } catch (error) {
      expect((error as ValidationError).issues).toEqual([
        { path: 'jobs.2', message: 'duplicate a' },
        { path: 'jobs.3', message: 'duplicate b' },
      ]);
    }
  });
});

describe('listAllPages', () => {
  it('follows the cursors to the last page and keeps the order', async () => {
    const pages: Record<string, { items: number[]; cursor?: string }> = {
      start: { items: [1, 2], cursor: 'second' },
      second: { items: [], cursor: 'third' },
      third: { items: [3] },
    };
    const asked: (string | undefined)[] = [];

    const items = await listAllPages(async (cursor) => {
      asked.push(cursor);
      return pages[cursor ?? 'start']!;
    });

    expect(items).toEqual([1, 2, 3]);
    expect(asked).toEqual([undefined, 'second', 'third']);
  });
});
