import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  JOB_STATES,
  type JobCounts,
  TASK_STATES,
  type TaskCounterShard,
  type TaskItem,
} from '../model/index.js';
import { outputsComplete, shardDrained, stateChangeOf, unfinishedJobs } from './completion.js';

const zero = Object.fromEntries(JOB_STATES.map((state) => [state, 0])) as JobCounts;

function task(overrides: Partial<TaskItem> = {}): TaskItem {
  return {
    taskId: 't-1',
    name: 'reco',
    executable: '/bin/reco',
    args: [],
    device: 'CPU',
    mode: 'map',
    filesPerJob: 1,
    maxRetries: 3,
    rank: 1,
    inputDatasetUid: 'ds-in',
    outputDataset: 'out',
    logDataset: 'logs',
    streaming: false,
    failureTolerance: 0,
    wallTimeSeconds: 3600,
    coresPerJob: 1,
    state: 'RUNNING',
    baseRank: 1,
    counterShards: 4,
    generationComplete: true,
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z',
    version: 0,
    ...overrides,
  };
}

const countsArb = fc.record(
  Object.fromEntries(JOB_STATES.map((state) => [state, fc.nat({ max: 5 })])) as Record<
    keyof JobCounts,
    fc.Arbitrary<number>
  >,
);

describe('unfinishedJobs', () => {
  it('counts READY, QUEUED, RUNNING and LOST jobs', () => {
    expect(
      unfinishedJobs({
        ...zero,
        READY: 1,
        QUEUED: 2,
        RUNNING: 3,
        LOST: 4,
        DONE: 50,
        FAILED: 6,
        CANCELLED: 7,
      }),
    ).toBe(10);
  });
});

describe('outputsComplete', () => {
  it('holds exactly for a final task with no unfinished job', () => {
    fc.assert(
      fc.property(fc.constantFrom(...TASK_STATES), countsArb, (state, counts) => {
        const final = state === 'DONE' || state === 'FAILED' || state === 'CANCELLED';
        expect(outputsComplete({ state, counts })).toBe(final && unfinishedJobs(counts) === 0);
      }),
    );
  });
});

describe('stateChangeOf', () => {
  it('names the states of a change', () => {
    expect(stateChangeOf({ oldImage: task(), newImage: task({ state: 'DONE' }) })).toEqual({
      from: 'RUNNING',
      to: 'DONE',
    });
  });

  it('sees no change in a new item or an update that keeps the state', () => {
    expect(stateChangeOf({ newImage: task() })).toBeUndefined();
    expect(stateChangeOf({ oldImage: task(), newImage: task({ rank: 7 }) })).toBeUndefined();
  });
});

function shard(counts: JobCounts): TaskCounterShard {
  return {
    taskId: 't-1#counters#2',
    counterOf: 't-1',
    shard: 2,
    taskState: 'RUNNING',
    counts,
    jobsTotal: Object.values(counts).reduce((sum, count) => sum + count, 0),
  };
}

describe('shardDrained', () => {
  it('holds for the change that leaves a shard with no job in flight, not for the changes after it', () => {
    const running = shard({ ...zero, RUNNING: 1, DONE: 2 });
    const drained = shard({ ...zero, CANCELLED: 1, DONE: 2 });

    expect(shardDrained({ oldImage: running, newImage: drained })).toBe(true);
    expect(shardDrained({ oldImage: drained, newImage: { ...drained, taskState: 'CANCELLED' } })).toBe(false);
    expect(shardDrained({ newImage: drained })).toBe(false);
  });

  it('holds exactly when jobs in flight go from some to none', () => {
    fc.assert(
      fc.property(countsArb, countsArb, (before, after) => {
        const drained = shardDrained({ oldImage: shard(before), newImage: shard(after) });

        expect(drained).toBe(unfinishedJobs(before) > 0 && unfinishedJobs(after) === 0);
      }),
    );
  });
});
