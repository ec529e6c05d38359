import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sample } from './audit.js';

describe('sample', () => {
  it('draws the requested number of distinct items from the list, or all of them', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.nat(), { maxLength: 30 }),
        fc.option(fc.nat(40), { nil: undefined }),
        fc.infiniteStream(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })),
        (items, count, randoms) => {
          const drawn = sample(items, count, () => randoms.next().value);
          expect(drawn).toHaveLength(count === undefined ? items.length : Math.min(count, items.length));
          expect(new Set(drawn).size).toBe(drawn.length);
          for (const item of drawn) expect(items).toContain(item);
        },
      ),
    );
  });

  it('leaves the list it draws from unchanged', () => {
    const items = [1, 2, 3, 4];
    sample(items, 2, () => 0.99);
    expect(items).toEqual([1, 2, 3, 4]);
  });
});
