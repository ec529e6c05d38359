import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors/index.js';
import { RANK_MAX } from '../model/index.js';
import { nextRank, RankParams } from './index.js';

const paramsArb = fc.record({
  alpha: fc.double({ min: 0, max: 10, noNaN: true }),
  beta: fc.double({ min: 0, max: 10, noNaN: true }),
  gamma: fc.double({ min: 0, max: 0.99, noNaN: true }),
  agingUnitSeconds: fc.integer({ min: 1, max: 3600 }),
  rankMax: fc.integer({ min: 1, max: RANK_MAX }),
});
const inputArb = fc.record({
  baseRank: fc.integer({ min: 1, max: RANK_MAX }),
  rank: fc.integer({ min: 1, max: RANK_MAX }),
  waitedSeconds: fc.integer({ min: 0, max: 7 * 24 * 3600 }),
  retryJobs: fc.integer({ min: 0, max: 10_000 }),
});

describe('nextRank', () => {
  it('adds aging and retry boosts to the base rank with the defaults (α=1, β=0.5, γ=0.5, 60 s)', () => {
    expect(nextRank({ baseRank: 3, rank: 3, waitedSeconds: 0, retryJobs: 0 })).toBe(3);
    expect(nextRank({ baseRank: 3, rank: 3, waitedSeconds: 120, retryJobs: 0 })).toBe(5);
    expect(nextRank({ baseRank: 3, rank: 3, waitedSeconds: 0, retryJobs: 4 })).toBe(5);
    expect(nextRank({ baseRank: 3, rank: 7, waitedSeconds: 60, retryJobs: 2 })).toBe(3 + 1 + 1 + 2);
  });

  it('rounds the boost toward the base rank', () => {
    expect(nextRank({ baseRank: 3, rank: 3, waitedSeconds: 119, retryJobs: 0 })).toBe(4);
    expect(nextRank({ baseRank: 3, rank: 4, waitedSeconds: 0, retryJobs: 0 })).toBe(3);
    expect(nextRank({ baseRank: 10, rank: 7, waitedSeconds: 0, retryJobs: 0 })).toBe(9);
    expect(nextRank({ baseRank: 1, rank: 11, waitedSeconds: 0, retryJobs: 0 }, { gamma: 0.7 })).toBe(8);
  });

  it('clamps to [1, rankMax]', () => {
    expect(nextRank({ baseRank: 90, rank: 90, waitedSeconds: 3600, retryJobs: 0 })).toBe(RANK_MAX);
    expect(nextRank({ baseRank: 5, rank: 5, waitedSeconds: 3600, retryJobs: 0 }, { rankMax: 10 })).toBe(10);
  });

  it('refuses bad input and parameters, naming the field', () => {
    expect(() => nextRank({ baseRank: 0, rank: 1, waitedSeconds: 0, retryJobs: 0 })).toThrow(ValidationError);
    expect(() => nextRank({ baseRank: 1, rank: 1, waitedSeconds: -1, retryJobs: 0 })).toThrow(
      /waitedSeconds/,
    );
    expect(() => nextRank({ baseRank: 1, rank: 1, waitedSeconds: 0, retryJobs: 0 }, { gamma: 1 })).toThrow(
      /gamma/,
    );
    expect(() => nextRank({ baseRank: 1, rank: 1, waitedSeconds: 0, retryJobs: 0 }, { alpha: -1 })).toThrow(
      /alpha/,
    );
    expect(() =>
      nextRank({ baseRank: 1, rank: 1, waitedSeconds: 0, retryJobs: 0 }, { agingUnitSeconds: 0 }),
    ).toThrow(/agingUnitSeconds/);
  });

  it('has a parameter schema with the documented defaults', () => {
    expect(RankParams.parse({})).toEqual({
      alpha: 1,
      beta: 0.5,
      gamma: 0.5,
      agingUnitSeconds: 60,
      rankMax: RANK_MAX,
    });
    expect(RankParams.safeParse({ alpha: 1, delta: 2 }).success).toBe(false);
  });

  it('always lies within [1, rankMax] and is an integer', () => {
    fc.assert(
      fc.property(inputArb, paramsArb, (input, params) => {
        const rank = nextRank(input, params);
        expect(Number.isInteger(rank)).toBe(true);
        expect(rank).toBeGreaterThanOrEqual(1);
        expect(rank).toBeLessThanOrEqual(params.rankMax);
      }),
    );
  });

  it('is monotone in waited time and in retries', () => {
    fc.assert(
      fc.property(
        inputArb,
        paramsArb,
        fc.integer({ min: 0, max: 100_000 }),
        fc.integer({ min: 0, max: 1000 }),
        (input, params, moreWait, moreRetries) => {
          const rank = nextRank(input, params);
          expect(
            nextRank({ ...input, waitedSeconds: input.waitedSeconds + moreWait }, params),
          ).toBeGreaterThanOrEqual(rank);
          expect(
            nextRank({ ...input, retryJobs: input.retryJobs + moreRetries }, params),
          ).toBeGreaterThanOrEqual(rank);
        },
      ),
    );
  });

  it('brings a served task (no wait, no retries) back to its base rank', () => {
    fc.assert(
      fc.property(inputArb, paramsArb, (input, params) => {
        fc.pre(input.baseRank <= params.rankMax);
        let rank = input.rank;
        for (let update = 0; update < 2 * RANK_MAX; update += 1) {
          rank = nextRank({ baseRank: input.baseRank, rank, waitedSeconds: 0, retryJobs: 0 }, params);
        }
        expect(rank).toBe(input.baseRank);
      }),
    );
  });

  it('moves a served task strictly toward its base rank on every update until it is there', () => {
    fc.assert(
      fc.property(inputArb, paramsArb, (input, params) => {
        fc.pre(
          input.baseRank <= params.rankMax && input.rank <= params.rankMax && input.rank !== input.baseRank,
        );
        const next = nextRank({ ...input, waitedSeconds: 0, retryJobs: 0 }, params);
        expect(Math.abs(next - input.baseRank)).toBeLessThan(Math.abs(input.rank - input.baseRank));
      }),
    );
  });

  it('raises a starved task above its base rank once it has waited an aging unit per α', () => {
    fc.assert(
      fc.property(inputArb, paramsArb, (input, params) => {
        fc.pre(params.alpha > 0.01 && input.baseRank < params.rankMax && input.rank >= input.baseRank);
        const waitedSeconds = Math.ceil(params.agingUnitSeconds / params.alpha);
        expect(nextRank({ ...input, waitedSeconds }, params)).toBeGreaterThan(input.baseRank);
      }),
    );
  });

  it('keeps raising a task that keeps waiting, up to rankMax', () => {
    // Each minute: rank' = 1 + trunc(minutes waited + 0.5 · (rank − 1)).
    let rank = 1;
    const ranks = [];
    for (let minute = 1; minute <= 12; minute += 1) {
      rank = nextRank({ baseRank: 1, rank, waitedSeconds: minute * 60, retryJobs: 0 }, { rankMax: 20 });
      ranks.push(rank);
    }
    expect(ranks).toEqual([2, 3, 5, 7, 9, 11, 13, 15, 17, 19, 20, 20]);
  });
});
