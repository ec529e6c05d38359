import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JobRecord } from '../model/index.js';
import { ReadyJobBuffer } from './ready-jobs.js';

const NOW = '2026-01-01T00:00:00.000Z';

function readyJob(taskId: string, index: number): JobRecord {
  return {
    jobId: `j-${taskId}-${String(index).padStart(4, '0')}`,
    taskId,
    state: 'READY',
    attempt: 0,
    device: 'CPU',
    rank: 1,
    inputs: [
      {
        name: `f-${index}.raw`,
        location: { bucket: 'b', key: `k/${index}` },
        size: 1,
        checksum: 'sha256:00',
      },
    ],
    createdAt: NOW,
    updatedAt: NOW,
  };
}

/** A task's READY jobs as the table holds them: taking a job dispatches it (it leaves READY). */
function readyTable(taskId: string, count: number) {
  const ready = Array.from({ length: count }, (_, index) => readyJob(taskId, index));
  const reads: number[] = [];
  return {
    ready,
    reads,
    read: async (_taskId: string, limit: number) => {
      reads.push(limit);
      return ready.slice(0, limit);
    },
    dispatch(jobs: readonly JobRecord[]) {
      for (const job of jobs) ready.splice(ready.indexOf(job), 1);
    },
  };
}

describe('ReadyJobBuffer', () => {
  it('reads ahead once and serves the next passes from what it kept', async () => {
    // Prepare
    const table = readyTable('t-1', 50);
    const buffer = new ReadyJobBuffer({ readAhead: 20, maxAgeMs: 60_000, clock: () => 0 });
    // Act
    const first = await buffer.take('t-1', 4, table.read);
    table.dispatch(first);
    const second = await buffer.take('t-1', 16, table.read);
    table.dispatch(second);
    const third = await buffer.take('t-1', 3, table.read);
    // Assess
    expect(first.map((job) => job.jobId)).toEqual(['j-t-1-0000', 'j-t-1-0001', 'j-t-1-0002', 'j-t-1-0003']);
    expect(second[0]?.jobId).toBe('j-t-1-0004');
    expect(third[0]?.jobId).toBe('j-t-1-0020');
    expect(table.reads).toEqual([20, 20]);
  });

  it('reads again what it kept too long, and what it was told to forget', async () => {
    let now = 0;
    const table = readyTable('t-1', 50);
    const buffer = new ReadyJobBuffer({ readAhead: 10, maxAgeMs: 1000, clock: () => now });
    table.dispatch(await buffer.take('t-1', 1, table.read));
    now = 2000;
    table.dispatch(await buffer.take('t-1', 1, table.read));
    buffer.forget('t-1');
    await buffer.take('t-1', 1, table.read);
    buffer.retainOnly(new Set(['t-2']));
    expect(buffer.keptFor('t-1')).toBe(0);
    expect(table.reads).toEqual([10, 10, 10]);
  });

  it('hands out the same jobs, in the same order, as a query on every pass would', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 1, max: 25 }),
        fc.array(fc.integer({ min: 1, max: 12 }), { maxLength: 20 }),
        async (jobs, readAhead, passes) => {
          const buffered = readyTable('t-1', jobs);
          const direct = readyTable('t-1', jobs);
          const buffer = new ReadyJobBuffer({ readAhead, maxAgeMs: 60_000, clock: () => 0 });
          for (const count of passes) {
            const fromBuffer = await buffer.take('t-1', count, buffered.read);
            const fromQuery = await direct.read('t-1', count);
            expect(fromBuffer.map((job) => job.jobId)).toEqual(fromQuery.map((job) => job.jobId));
            buffered.dispatch(fromBuffer);
            direct.dispatch(fromQuery);
          }
          // Never more queries than passes; one for all of them while a read-ahead covers them.
          expect(buffered.reads.length).toBeLessThanOrEqual(passes.length);
          const wanted = passes.reduce((sum, count) => sum + count, 0);
          if (passes.length > 0 && wanted <= Math.min(readAhead, jobs))
            expect(buffered.reads).toHaveLength(1);
        },
      ),
    );
  });
});
