import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jobIdFor } from '../ids/index.js';
import { JOB_STATES, type JobState } from '../model/index.js';
import { MAX_COUNTER_SHARDS } from './constants.js';
import {
  applyDelta,
  countersByShard,
  sameCounters,
  shardDeltas,
  shardOf,
  sumCounters,
  zeroCounters,
} from './shards.js';
import type { Counters, JobMove } from './types.js';

const jobIdArb = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,60}$/);
const shardsArb = fc.integer({ min: 1, max: MAX_COUNTER_SHARDS });

describe('shardOf', () => {
  it('picks the same shard in range for a job every time', () => {
    fc.assert(
      fc.property(jobIdArb, shardsArb, (jobId, shards) => {
        const shard = shardOf(jobId, shards);
        expect(Number.isInteger(shard) && shard >= 0 && shard < shards).toBe(true);
        expect(shardOf(jobId, shards)).toBe(shard);
      }),
    );
  });

  it.each([
    { shards: 4, within: 0.05 },
    { shards: 16, within: 0.15 },
  ])('spreads the jobs of a task evenly over $shards shards (within $within)', ({ shards, within }) => {
    const jobs = 16_000;
    const perShard = new Array<number>(shards).fill(0);
    for (let file = 0; file < jobs; file += 1) {
      perShard[shardOf(jobIdFor('t-reco-42', [`run42_${String(file).padStart(5, '0')}.raw`]), shards)]! += 1;
    }
    // A binomial spread: more than 3.5 standard deviations inside these bounds.
    const expected = jobs / shards;
    for (const count of perShard) expect(Math.abs(count - expected)).toBeLessThan(expected * within);
  });

  it('refuses a shard count outside 1 … MAX_COUNTER_SHARDS, naming the field', () => {
    for (const shards of [0, -1, 1.5, MAX_COUNTER_SHARDS + 1]) {
      expect(() => shardOf('j-1', shards)).toThrow(/counterShards/);
    }
  });
});

/** A job's next states as the job machine allows them (creation aside). */
const NEXT: Record<JobState, readonly JobState[]> = {
  READY: ['QUEUED', 'CANCELLED'],
  QUEUED: ['RUNNING', 'READY', 'LOST', 'CANCELLED'],
  RUNNING: ['DONE', 'FAILED', 'READY', 'LOST', 'CANCELLED'],
  LOST: ['READY', 'FAILED', 'CANCELLED'],
  FAILED: ['READY'],
  DONE: [],
  CANCELLED: [],
};

describe('shard deltas', () => {
  it('keep every shard equal to its jobs and the sum equal to all jobs, batch after batch', () => {
    fc.assert(
      fc.property(
        shardsArb,
        fc.uniqueArray(jobIdArb, { minLength: 1, maxLength: 40 }),
        fc.array(fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 12 }), { maxLength: 30 }),
        (shards, jobIds, batches) => {
          // Prepare: every job created READY in one batch.
          const states = new Map<string, JobState>(jobIds.map((jobId) => [jobId, 'READY']));
          const counters: Counters[] = Array.from({ length: shards }, zeroCounters);
          const apply = (moves: JobMove[]) => {
            for (const [shard, delta] of shardDeltas(moves, shards)) {
              counters[shard] = applyDelta(counters[shard]!, delta);
            }
          };
          apply(jobIds.map((jobId) => ({ jobId, to: 'READY' })));
          // Act: batches of legal moves of distinct jobs, as one transaction makes them.
          for (const batch of batches) {
            const moves: JobMove[] = [];
            const seen = new Set<string>();
            for (const [pick, next] of batch) {
              const jobId = jobIds[pick % jobIds.length]!;
              const from = states.get(jobId)!;
              const choices = NEXT[from];
              if (seen.has(jobId) || choices.length === 0) continue;
              seen.add(jobId);
              const to = choices[next % choices.length]!;
              states.set(jobId, to);
              moves.push({ jobId, from, to });
            }
            apply(moves);
          }
          // Assess
          const jobs = [...states].map(([jobId, state]) => ({ jobId, state }));
          const expected = countersByShard(jobs, shards);
          expect(counters).toEqual(expected);
          expect(sameCounters(sumCounters(counters), sumCounters(expected))).toBe(true);
          expect(sumCounters(counters).jobsTotal).toBe(jobIds.length);
        },
      ),
    );
  });

  it('leave out shards a batch does not change and amounts that cancel out', () => {
    // Prepare: two jobs on the same shard moving opposite ways.
    const shards = 4;
    const ids = Array.from({ length: 10 }, (_, index) => `j-${index}`);
    const a = ids[0]!;
    const b = ids.find((jobId) => jobId !== a && shardOf(jobId, shards) === shardOf(a, shards));
    // Act
    const deltas = shardDeltas(
      [
        { jobId: a!, from: 'READY', to: 'QUEUED' },
        { jobId: b!, from: 'QUEUED', to: 'READY' },
      ],
      shards,
    );
    // Assess
    expect(deltas.size).toBe(0);
  });
});

describe('sumCounters', () => {
  it('adds every state and jobsTotal', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.array(fc.nat(1000), { minLength: 7, maxLength: 7 }), fc.nat(1000)), {
          maxLength: MAX_COUNTER_SHARDS,
        }),
        (raw) => {
          const shards = raw.map(([values, jobsTotal]) => ({
            counts: Object.fromEntries(
              JOB_STATES.map((state, index) => [state, values[index]!]),
            ) as Counters['counts'],
            jobsTotal,
          }));
          const total = sumCounters(shards);
          for (const state of JOB_STATES) {
            expect(total.counts[state]).toBe(shards.reduce((sum, shard) => sum + shard.counts[state], 0));
          }
          expect(total.jobsTotal).toBe(shards.reduce((sum, shard) => sum + shard.jobsTotal, 0));
        },
      ),
    );
  });
});
