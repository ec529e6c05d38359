import { GetCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { fileRef, jobsFixture, type RepositoryFixture, taskSpec } from '../../test/support/index.js';
import { countersByShard, sumCounters } from '../counters/index.js';
import { planJobs } from '../jobgen/index.js';
import { type JobRecord, TaskCounterShard } from '../model/index.js';
import { counterShardKey } from './counter-shards.js';

let fixture: RepositoryFixture;
let taskCounter = 0;

beforeAll(async () => {
  fixture = await jobsFixture('counter-shards');
});

const ACTIONS = [
  'queue',
  'claim',
  'complete',
  'fail',
  'retry',
  'lose',
  'retryLost',
  'requeue',
  'cancel',
  'retryFailed',
  'endTogether',
  'hold',
  'release',
  'replay',
] as const;
type Action = (typeof ACTIONS)[number];

interface Step {
  action: Action;
  job: number;
  /** A second job (endTogether) or the logged call to send again (replay). */
  other: number;
}

const stepArb = fc.record({
  action: fc.constantFrom(...ACTIONS),
  job: fc.nat(),
  other: fc.nat(),
});

/** Every job change the repository offers, made from what was read of the jobs when its group began. */
function callOf(
  taskId: string,
  step: Step,
  jobs: readonly JobRecord[],
): (() => Promise<unknown>) | undefined {
  const { jobs: repo } = fixture.repos;
  const job = jobs[step.job % jobs.length]!;
  const ref = { jobId: job.jobId, taskId, attempt: job.attempt };
  const claimToken = job.claimToken ?? 'no-claim';
  const failure = { errorCode: 1202, errorMessage: 'payload exited with 1' };
  switch (step.action) {
    case 'queue':
      return () => repo.markQueued([ref]);
    case 'claim':
      return () => repo.claim({ ...ref, pilotId: 'p' });
    case 'complete':
      return () => repo.complete({ ...ref, claimToken, outputs: [] });
    case 'fail':
      return () => repo.fail({ ...ref, from: 'RUNNING', claimToken, ...failure });
    case 'retry':
      return () => repo.retry({ ...ref, from: 'RUNNING', claimToken, ...failure });
    case 'lose':
      return () => repo.markLost([{ ...ref, from: job.state === 'QUEUED' ? 'QUEUED' : 'RUNNING' }]);
    case 'retryLost':
      return () => repo.retry({ ...ref, from: 'LOST', ...failure });
    case 'requeue':
      return () => repo.requeue([ref]);
    case 'cancel':
      return () => repo.cancel([{ ...ref, from: job.state }]);
    case 'retryFailed':
      return () => repo.retryFailed([ref]);
    case 'endTogether': {
      const other = jobs[step.other % jobs.length]!;
      if (other.jobId === job.jobId) return undefined;
      return () =>
        repo.endAttemptsTogether(
          [job, other].map((ending) => ({
            jobId: ending.jobId,
            taskId,
            attempt: ending.attempt,
            claimToken: ending.claimToken ?? 'no-claim',
            end: { to: 'DONE' as const, outputs: [] },
            files: [],
            taskStates: ['RUNNING', 'HELD'] as const,
          })),
        );
    }
    case 'hold':
      return () => fixture.repos.tasks.transition({ taskId, from: 'RUNNING', to: 'HELD' });
    case 'release':
      return () => fixture.repos.tasks.transition({ taskId, from: 'HELD', to: 'RUNNING' });
    case 'replay':
      return undefined;
  }
}

async function shardsOf(taskId: string, counterShards: number): Promise<TaskCounterShard[]> {
  const shards: TaskCounterShard[] = [];
  for (let shard = 0; shard < counterShards; shard += 1) {
    const response = await fixture.clients.doc.send(
      new GetCommand({
        TableName: fixture.tables.tasks,
        Key: counterShardKey(taskId, shard),
        ConsistentRead: true,
      }),
    );
    shards.push(TaskCounterShard.parse(response.Item));
  }
  return shards;
}

describe('counter shards', () => {
  it('sum to the jobs by state, and each shard to its own jobs, under concurrent, duplicated and reordered changes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(1, 2, 5, 16),
        fc.integer({ min: 2, max: 8 }),
        fc.array(fc.array(stepArb, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 6 }),
        async (counterShards, jobCount, groups) => {
          // Prepare: a RUNNING task with READY jobs.
          taskCounter += 1;
          const taskId = `t-shards-${taskCounter}`;
          await fixture.repos.tasks.create(taskId, taskSpec(), { counterShards });
          const { task } = await fixture.repos.tasks.transition({
            taskId,
            from: 'REGISTERED',
            to: 'RUNNING',
          });
          const files = Array.from({ length: jobCount }, (_, index) => fileRef(`${taskId}-${index}.raw`));
          const plan = planJobs({ taskId, mode: 'map', filesPerJob: 1 }, files, { final: true });
          await fixture.repos.jobs.createJobs(task, plan.jobs);
          const jobIds = plan.jobs.map((job) => job.jobId);
          const sent: (() => Promise<unknown>)[] = [];

          // Act: each group's calls at once, from the jobs as read before it; a replay sends a
          // call of an earlier group again, late (its attempt and claim token may be stale).
          for (const group of groups) {
            const jobs = await fixture.repos.jobs.getMany(jobIds);
            jobs.sort((a, b) => a.jobId.localeCompare(b.jobId));
            const calls = group.flatMap((step) => {
              if (step.action === 'replay') return sent.length > 0 ? [sent[step.other % sent.length]!] : [];
              const call = callOf(taskId, step, jobs);
              return call ? [call] : [];
            });
            await Promise.allSettled(calls.map((call) => call()));
            sent.push(...calls);
          }

          // Assess
          const jobs = await fixture.repos.jobs.getMany(jobIds);
          const stored = await fixture.repos.tasks.get(taskId);
          const shards = await shardsOf(taskId, counterShards);
          const expected = countersByShard(jobs, counterShards);
          expect({ counts: stored.counts, jobsTotal: stored.jobsTotal }).toEqual(sumCounters(expected));
          expect(shards.map((shard) => ({ counts: shard.counts, jobsTotal: shard.jobsTotal }))).toEqual(
            expected,
          );
          for (const shard of shards) expect(shard.taskState).toBe(stored.state);
        },
      ),
      { numRuns: 12 },
    );
  }, 240_000);
});
