import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fairness, percentile } from './statistics.js';

describe('percentile', () => {
  it('takes the nearest rank', () => {
    expect(percentile([5, 1, 4, 2, 3], 0.5)).toBe(3);
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2);
    expect(percentile([1, 2, 3, 4], 0.95)).toBe(4);
    expect(percentile([7], 0.95)).toBe(7);
    expect(percentile([], 0.5)).toBeNaN();
  });

  it('is one of the values, and grows with the fraction', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: 1 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (values, a, b) => {
          expect(values).toContain(percentile(values, a));
          expect(percentile(values, Math.min(a, b))).toBeLessThanOrEqual(percentile(values, Math.max(a, b)));
        },
      ),
    );
  });
});

describe('fairness', () => {
  const ranks = { low: 1, mid: 2, high: 4 };

  /** Dispatches of passes: each pass's picks, in order, share the pass's time. */
  const passes = (...picks: string[][]) =>
    picks.flatMap((pass, index) => pass.map((taskId) => ({ taskId, at: 1000 * (index + 1) })));

  it('compares shares over the passes before the one in which the first task ran dry', () => {
    // Prepare: two passes served 1:2:4; in the third, high ran dry after one pick and the rest
    // of the pass went to the others.
    const full = ['high', 'mid', 'high', 'low', 'high', 'mid', 'high'];
    const dispatches = passes(full, full, ['high', 'mid', 'low', 'mid', 'low', 'mid', 'low']);
    // Act
    const measure = fairness(ranks, dispatches);
    // Assess
    expect(measure.windowDispatches).toBe(14);
    expect(measure.error).toBeCloseTo(0, 10);
    expect(measure.shares.high).toMatchObject({ dispatched: 8, rankShare: 4 / 7 });
  });

  it('reports the largest gap between a dispatch share and its rank share', () => {
    const dispatches = passes(['low', 'mid', 'high'], ['low', 'mid', 'high'], ['mid', 'high']);
    const measure = fairness(ranks, dispatches);
    // low ran dry in the second pass: the first pass is the window, low has 1 of 3 against 1/7.
    expect(measure.windowDispatches).toBe(3);
    expect(measure.error).toBeCloseTo(4 / 7 - 1 / 3, 10);
  });

  it('measures the one pass there is when a task ran dry in the first', () => {
    const measure = fairness(ranks, passes(['high', 'mid', 'low', 'high'], ['high', 'mid']));
    expect(measure.windowDispatches).toBe(4);
    expect(measure.shares.low).toMatchObject({ dispatched: 1, dispatchShare: 1 / 4 });
  });

  it('stays within [0, 1] and is 0 only when shares match ranks', () => {
    const dispatch = fc.record({
      taskId: fc.constantFrom('low', 'mid', 'high'),
      at: fc.integer({ min: 0, max: 50 }),
    });
    fc.assert(
      fc.property(fc.array(dispatch, { minLength: 3 }), (dispatches) => {
        fc.pre(['low', 'mid', 'high'].every((taskId) => dispatches.some((d) => d.taskId === taskId)));
        const measure = fairness(ranks, dispatches);
        expect(measure.error).toBeGreaterThanOrEqual(0);
        expect(measure.error).toBeLessThanOrEqual(1);
        const shares = Object.values(measure.shares);
        expect(shares.reduce((sum, share) => sum + share.dispatchShare, 0)).toBeCloseTo(1, 10);
      }),
    );
  });
});
