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

  it('compares shares up to the moment the first task ran dry', () => {
    // Prepare: 1:2:4 for seven dispatches, then only the others are left (high ran dry at 7).
    const order = ['high', 'mid', 'high', 'low', 'high', 'mid', 'high', 'mid', 'low', 'mid'];
    const dispatches = order.map((taskId, index) => ({ taskId, at: index + 1 }));
    // Act
    const measure = fairness(ranks, dispatches);
    // Assess
    expect(measure.windowDispatches).toBe(7);
    expect(measure.error).toBeCloseTo(0, 10);
    expect(measure.shares.high).toMatchObject({ dispatched: 4, rankShare: 4 / 7 });
  });

  it('reports the largest gap between a dispatch share and its rank share', () => {
    const dispatches = ['low', 'mid', 'high', 'low', 'mid', 'high'].map((taskId, index) => ({
      taskId,
      at: index,
    }));
    const measure = fairness(ranks, dispatches);
    // The window ends with low's last dispatch (the 4th): low has 2 of 4 against a share of 1/7.
    expect(measure.windowDispatches).toBe(4);
    expect(measure.error).toBeCloseTo(1 / 2 - 1 / 7, 10);
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
