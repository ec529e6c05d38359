import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareCodePoints } from '../ids/index.js';
import { FileName } from '../model/index.js';
import { compareSortedNames, matchChecklist, NamesOutOfOrderError } from './index.js';

async function* source(names: readonly string[]): AsyncGenerator<string> {
  yield* names;
}

const sorted = (names: Iterable<string>) => [...names].sort(compareCodePoints);

describe('compareSortedNames', () => {
  it('matches equal lists and counts both sides', async () => {
    expect(await compareSortedNames(source(['a', 'b', 'c']), source(['a', 'b', 'c']))).toEqual({
      status: 'match',
      registered: 3,
      listed: 3,
    });
    expect(await compareSortedNames(source([]), source([]))).toEqual({
      status: 'match',
      registered: 0,
      listed: 0,
    });
  });

  it('counts every missing, extra and duplicated name and keeps the first few of each', async () => {
    const registered = ['a', 'c', 'x1', 'x2', 'x3'];
    const listed = ['a', 'b', 'b', 'c', 'd', 'e', 'f'];

    const result = await compareSortedNames(source(registered), source(listed), 2);

    expect(result).toEqual({
      status: 'mismatch',
      registered: 5,
      listed: 7,
      missing: { count: 4, first: ['b', 'd'] },
      extra: { count: 3, first: ['x1', 'x2'] },
      duplicated: { count: 1, first: ['b'] },
    });
  });

  it('walks in code-point order, where a name above U+FFFF follows one in U+E000–U+FFFF', async () => {
    const names = sorted(['a\u{1f600}.raw', 'a\uff0e.raw', 'a.raw']);

    expect(names).toEqual(['a.raw', 'a\uff0e.raw', 'a\u{1f600}.raw']);
    expect(await compareSortedNames(source(names), source(names))).toMatchObject({ status: 'match' });
  });

  it('refuses a source out of order, naming the side, and closes both sources', async () => {
    const closed: string[] = [];
    async function* tracked(side: string, names: readonly string[]) {
      try {
        yield* names;
      } finally {
        closed.push(side);
      }
    }

    await expect(
      compareSortedNames(tracked('r', ['a', 'c', 'b']), tracked('l', ['a', 'b', 'c'])),
    ).rejects.toThrow(new NamesOutOfOrderError('registered', 3));
    await expect(compareSortedNames(source(['a', 'a']), source(['a']))).rejects.toBeInstanceOf(
      NamesOutOfOrderError,
    );
    await expect(compareSortedNames(source(['a', 'b']), source(['b', 'a']))).rejects.toThrow(
      /checklist names/,
    );
    expect(closed.sort()).toEqual(['l', 'r']);
  });

  it('pulls the two sources in step: one never runs ahead of the other by more than the differences', async () => {
    let pulledRegistered = 0;
    let pulledListed = 0;
    let widestGap = 0;
    async function* counted(names: readonly string[], onPull: () => void) {
      for (const name of names) {
        onPull();
        widestGap = Math.max(widestGap, Math.abs(pulledRegistered - pulledListed));
        yield name;
      }
    }
    const names = Array.from({ length: 5_000 }, (_, index) => `slice${String(index).padStart(5, '0')}.raw`);
    const listed = names.filter((_, index) => index !== 2_500);

    const result = await compareSortedNames(
      counted(names, () => {
        pulledRegistered += 1;
      }),
      counted(listed, () => {
        pulledListed += 1;
      }),
    );

    expect(result).toMatchObject({ status: 'mismatch', extra: { count: 1 } });
    expect(widestGap).toBeLessThanOrEqual(2);
  });

  // Names from a small alphabet that holds both sides of the UTF-16/code-point difference.
  const nameArb = fc
    .array(fc.constantFrom('a', 'b', '\u00e9', '\uff0e', '\u{1f600}'), { minLength: 1, maxLength: 3 })
    .map((parts) => parts.join(''))
    .filter((name) => FileName.safeParse(name).success);

  it('agrees with the in-memory comparison on any registered set and checklist', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(nameArb, { maxLength: 25 }),
        fc.array(nameArb, { maxLength: 25 }),
        async (registered, checklist) => {
          const expected = matchChecklist(registered, checklist);

          const result = await compareSortedNames(
            source(sorted(registered)),
            source(sorted(checklist)),
            Infinity,
          );

          expect(result.registered).toBe(registered.length);
          expect(result.listed).toBe(checklist.length);
          if (expected.status === 'match') {
            expect(result.status).toBe('match');
            return;
          }
          if (result.status !== 'mismatch') throw new Error('expected a mismatch');
          expect(result.missing.first).toEqual(sorted(expected.missing));
          expect(result.extra.first).toEqual(sorted(expected.extra));
          expect(new Set(result.duplicated.first)).toEqual(new Set(expected.duplicates));
          expect(result.missing.count).toBe(expected.missing.length);
          expect(result.extra.count).toBe(expected.extra.length);
        },
      ),
      { numRuns: 300 },
    );
  });
});
