import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { taskSpec } from '../../test/support/factories.js';
import { JOB_STATES, type JobCounts, TaskRecord } from '../model/index.js';
import { TaskSpecCache } from './task-specs.js';

const NOW = '2030-01-01T00:00:00.000Z';

function taskRecord(taskId: string, overrides: Partial<z.input<typeof TaskRecord>> = {}): TaskRecord {
  const spec = taskSpec();
  return TaskRecord.parse({
    ...spec,
    taskId,
    state: 'RUNNING',
    baseRank: spec.rank,
    counts: Object.fromEntries(JOB_STATES.map((state) => [state, 0])) as JobCounts,
    jobsTotal: 0,
    generationComplete: false,
    createdAt: NOW,
    updatedAt: NOW,
    version: 0,
    ...overrides,
  });
}

/** A task store that counts its reads, standing in for TasksRepo.find. */
function countingStore(known: (taskId: string) => boolean = () => true) {
  const reads: string[] = [];
  const load = async (taskId: string) => {
    reads.push(taskId);
    return known(taskId) ? taskRecord(taskId) : undefined;
  };
  return { reads, load };
}

describe('TaskSpecCache', () => {
  it('keeps what a task is asked to do, never its state, counters or rank', async () => {
    const cache = new TaskSpecCache();
    const spec = await cache.get('t-1', async () => taskRecord('t-1', { rank: 9, state: 'CANCELLED' }));
    expect(spec).toMatchObject({ taskId: 't-1', outputDataset: 'run42-reco', maxRetries: 3, mode: 'map' });
    expect(spec).not.toHaveProperty('state');
    expect(spec).not.toHaveProperty('counts');
    expect(spec).not.toHaveProperty('rank');
  });

  it('reads a task once for concurrent and later lookups', async () => {
    const cache = new TaskSpecCache();
    const store = countingStore();
    await Promise.all([cache.get('t-1', store.load), cache.get('t-1', store.load)]);
    await cache.get('t-1', store.load);
    expect(store.reads).toEqual(['t-1']);
  });

  it('does not keep an unknown task or a failed read', async () => {
    const cache = new TaskSpecCache();
    const unknown = countingStore(() => false);
    expect(await cache.get('t-absent', unknown.load)).toBeUndefined();
    expect(await cache.get('t-absent', unknown.load)).toBeUndefined();
    expect(unknown.reads).toEqual(['t-absent', 't-absent']);
    await expect(cache.get('t-2', async () => Promise.reject(new Error('throttled')))).rejects.toThrow(
      'throttled',
    );
    expect(await cache.get('t-2', countingStore().load)).toMatchObject({ taskId: 't-2' });
    expect(cache.size).toBe(1);
  });

  it('holds at most its capacity, evicting the least recently used task', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g'), { maxLength: 40 }),
        async (capacity, lookups) => {
          const cache = new TaskSpecCache(capacity);
          const store = countingStore();
          for (const taskId of lookups) await cache.get(taskId, store.load);
          const recent: string[] = [];
          for (const taskId of [...lookups].reverse()) {
            if (!recent.includes(taskId)) recent.push(taskId);
          }
          const expected = recent.slice(0, capacity);
          expect(cache.size).toBe(expected.length);
          const readsBefore = store.reads.length;
          for (const taskId of expected) await cache.get(taskId, store.load);
          expect(store.reads.length).toBe(readsBefore);
        },
      ),
    );
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new TaskSpecCache(0)).toThrow(RangeError);
    expect(() => new TaskSpecCache(1.5)).toThrow(RangeError);
  });
});
