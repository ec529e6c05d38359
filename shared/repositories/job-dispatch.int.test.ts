import { beforeAll, describe, expect, it } from 'vitest';
import {
  jobCounts as counts,
  jobScenes,
  jobsFixture,
  pilotRegistration,
  type RepositoryFixture,
} from '../../test/support/index.js';
import {
  AlreadyClaimedError,
  NotFoundError,
  PilotNotLiveError,
  StaleAttemptError,
  StateConflictError,
  ValidationError,
} from '../errors/index.js';
import type { JobRecord, TaskRecord } from '../model/index.js';

let fixture: RepositoryFixture;
const { taskWithJobs, queuedJob, countsOf } = jobScenes(() => fixture);

beforeAll(async () => {
  fixture = await jobsFixture('jobs-dispatch');
});

describe('JobsRepo.claim', () => {
  it('lets exactly one of 20 concurrent claims win and keeps the counters exact', async () => {
    // Prepare
    const { task, job } = await queuedJob();

    // Act
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, (_, index) =>
        fixture.repos.jobs.claim({ ...job, pilotId: `pilot-${index}` }),
      ),
    );

    // Assess
    const winners = outcomes.filter((outcome) => outcome.status === 'fulfilled');
    const losers = outcomes.filter((outcome) => outcome.status === 'rejected');
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(19);
    for (const loser of losers) expect(loser.reason).toBeInstanceOf(AlreadyClaimedError);
    const stored = await fixture.repos.jobs.get(job.jobId);
    const winnerIndex = outcomes.findIndex((outcome) => outcome.status === 'fulfilled');
    expect(stored).toMatchObject({
      state: 'RUNNING',
      phase: 'CLAIMED',
      pilotId: `pilot-${winnerIndex}`,
      attempt: 0,
    });
    expect(stored.claimToken).toBe((winners[0] as PromiseFulfilledResult<string>).value);
    expect(await countsOf(task.taskId)).toEqual(counts({ RUNNING: 1 }));
  });

  it('gives a retry of the winning claim its token again, and nobody else', async () => {
    // Prepare
    const { task, job } = await queuedJob();
    const requestId = 'claim-request-0123456789';
    const token = await fixture.repos.jobs.claim({ ...job, pilotId: 'pilot-0', requestId });

    // Act: the same claim again (its answer was lost).
    const retried = await fixture.repos.jobs.claim({ ...job, pilotId: 'pilot-0', requestId });

    // Assess: the same token; another request id, none, or another pilot is still refused.
    expect(retried).toBe(token);
    const claim = (pilotId: string, id?: string) =>
      fixture.repos.jobs.claim({ ...job, pilotId, ...(id !== undefined && { requestId: id }) });
    await expect(claim('pilot-0', `${requestId}-2`)).rejects.toThrow(AlreadyClaimedError);
    await expect(claim('pilot-0')).rejects.toThrow(AlreadyClaimedError);
    await expect(claim('pilot-1', requestId)).rejects.toThrow(AlreadyClaimedError);
    expect(await fixture.repos.jobs.get(job.jobId)).toMatchObject({
      state: 'RUNNING',
      pilotId: 'pilot-0',
      claimToken: token,
      claimRequestId: requestId,
    });
    expect(await countsOf(task.taskId)).toEqual(counts({ RUNNING: 1 }));

    // A retry drops the claim, its request id with it; a claim without one leaves none behind.
    await fixture.repos.jobs.retry({ ...job, from: 'RUNNING', claimToken: token, errorCode: 1201 });
    expect((await fixture.repos.jobs.get(job.jobId)).claimRequestId).toBeUndefined();
    await fixture.repos.jobs.markQueued([{ ...job, attempt: 1 }]);
    await fixture.repos.jobs.claim({ ...job, attempt: 1, pilotId: 'pilot-0' });
    expect((await fixture.repos.jobs.get(job.jobId)).claimRequestId).toBeUndefined();
  });

  it('refuses an older attempt, an unknown job, a job of another task and a job no longer queued', async () => {
    const { job } = await queuedJob();
    await expect(fixture.repos.jobs.claim({ ...job, attempt: 1, pilotId: 'p' })).rejects.toThrow(
      StaleAttemptError,
    );
    await expect(fixture.repos.jobs.claim({ ...job, jobId: 'j-unknown', pilotId: 'p' })).rejects.toThrow(
      NotFoundError,
    );
    await expect(fixture.repos.jobs.claim({ ...job, taskId: 't-other', pilotId: 'p' })).rejects.toThrow(
      /belongs to task/,
    );
    await fixture.repos.jobs.cancel([{ ...job, from: 'QUEUED' }]);
    await expect(fixture.repos.jobs.claim({ ...job, pilotId: 'p' })).rejects.toMatchObject({
      name: 'NotClaimableError',
      state: 'CANCELLED',
    });
  });

  it('refuses a pilot declared LOST and a pilot that never registered, leaving the job QUEUED', async () => {
    // Prepare
    const { task, job } = await queuedJob();
    await fixture.repos.pilots.register(pilotRegistration('pilot-declared-lost'));
    await fixture.repos.pilots.transition({ pilotId: 'pilot-declared-lost', from: 'ACTIVE', to: 'LOST' });

    // Act
    const [lost, unknown] = await Promise.allSettled([
      fixture.repos.jobs.claim({ ...job, pilotId: 'pilot-declared-lost' }),
      fixture.repos.jobs.claim({ ...job, pilotId: 'pilot-never-registered' }),
    ]);

    // Assess
    expect(lost).toMatchObject({ status: 'rejected', reason: { state: 'LOST' } });
    expect(lost.status === 'rejected' && lost.reason).toBeInstanceOf(PilotNotLiveError);
    expect(unknown).toMatchObject({ status: 'rejected', reason: { state: undefined } });
    expect(unknown.status === 'rejected' && unknown.reason).toBeInstanceOf(PilotNotLiveError);
    expect(await fixture.repos.jobs.get(job.jobId)).toMatchObject({ state: 'QUEUED', attempt: 0 });
    expect(await countsOf(task.taskId)).toEqual(counts({ QUEUED: 1 }));
  });

  it('takes one API call', async () => {
    const { job } = await queuedJob();
    fixture.calls.reset();

    await fixture.repos.jobs.claim({ ...job, pilotId: 'pilot-count' });

    expect(fixture.calls.snapshot()).toEqual([
      { service: 'DynamoDB', operation: 'TransactWriteItems', calls: 1 },
    ]);
  });
});

describe('batch transitions', () => {
  it('marks a dispatch batch QUEUED, refusing the one job cancelled meanwhile, in two calls', async () => {
    // Prepare
    const { task, jobs } = await taskWithJobs(5);
    const cancelled = jobs[2]!;
    await fixture.repos.jobs.cancel([{ ...cancelled, from: 'READY' }]);
    fixture.calls.reset();

    // Act
    const result = await fixture.repos.jobs.markQueued(jobs);

    // Assess
    expect(result.applied.map((job) => job.jobId)).toEqual(
      jobs.filter((job) => job !== cancelled).map((job) => job.jobId),
    );
    expect(result.unchanged).toEqual([]);
    expect(result.refused).toHaveLength(1);
    expect(result.refused[0]?.job.jobId).toBe(cancelled.jobId);
    expect(result.refused[0]?.error).toBeInstanceOf(StateConflictError);
    expect(result.refused[0]?.current?.state).toBe('CANCELLED');
    expect(fixture.calls.count({ operation: 'TransactWriteItems' })).toBe(2);
    const stored = await fixture.repos.tasks.get(task.taskId);
    expect(stored.counts).toEqual(counts({ QUEUED: 4, CANCELLED: 1 }));
    expect(stored.lastServedAt).toBeDefined();
    const queued = await fixture.repos.jobs.listByTask(task.taskId, { state: 'QUEUED' });
    expect(queued.items).toHaveLength(4);
    expect(queued.items.every((job) => job.queuedAt !== undefined)).toBe(true);
    expect(await fixture.repos.jobs.listReady(task.taskId, 10)).toEqual([]);
  });

  it('reports a repeated batch as unchanged and counts nothing twice', async () => {
    const { task, jobs } = await taskWithJobs(3);
    await fixture.repos.jobs.markQueued(jobs);

    const again = await fixture.repos.jobs.markQueued(jobs);

    expect(again.applied).toEqual([]);
    expect(again.unchanged.map((job) => job.jobId)).toEqual(jobs.map((job) => job.jobId));
    expect(await countsOf(task.taskId)).toEqual(counts({ QUEUED: 3 }));
  });

  it('spans several tasks and more than one transaction with exact counters per task', async () => {
    const first = await taskWithJobs(80);
    const second = await taskWithJobs(70);
    fixture.calls.reset();

    const result = await fixture.repos.jobs.markQueued([...first.jobs, ...second.jobs]);

    expect(result.applied).toHaveLength(150);
    expect(fixture.calls.count({ operation: 'TransactWriteItems' })).toBe(2);
    expect(await countsOf(first.task.taskId)).toEqual(counts({ QUEUED: 80 }));
    expect(await countsOf(second.task.taskId)).toEqual(counts({ QUEUED: 70 }));
  });
});

describe('dispatch only for RUNNING tasks', () => {
  it('refuses to mark QUEUED the jobs of a task no longer RUNNING, leaving them READY', async () => {
    // Prepare: two tasks' jobs in one batch; one task is cancelled before its jobs are marked.
    const kept = await taskWithJobs(2);
    const cancelled = await taskWithJobs(2);
    await fixture.repos.tasks.transition({ taskId: cancelled.task.taskId, from: 'RUNNING', to: 'CANCELLED' });

    // Act
    const result = await fixture.repos.jobs.markQueued([...kept.jobs, ...cancelled.jobs]);

    // Assess
    expect(result.applied.map((job) => job.jobId).sort()).toEqual(kept.jobs.map((job) => job.jobId).sort());
    expect(result.refused.map((refusal) => [refusal.job.jobId, refusal.error.name]).sort()).toEqual(
      cancelled.jobs.map((job) => [job.jobId, 'StateConflictError']).sort(),
    );
    expect(result.refused[0]?.error.message).toBe(`task ${cancelled.task.taskId} is not in state RUNNING`);
    expect(await countsOf(cancelled.task.taskId)).toEqual(counts({ READY: 2 }));
    expect(await fixture.repos.jobs.listReady(cancelled.task.taskId, 10)).toHaveLength(2);
    expect(await countsOf(kept.task.taskId)).toEqual(counts({ QUEUED: 2 }));
  });
});

describe('retry backoff', () => {
  const NOW = '2030-01-01T12:00:00.000Z';
  const LATER = '2030-01-01T12:05:00.000Z';

  /** A RUNNING task with `count` READY jobs, the first `inBackoff` of them retried until LATER. */
  async function jobsInBackoff(
    count: number,
    inBackoff: number,
  ): Promise<{ task: TaskRecord; jobs: JobRecord[] }> {
    const { task, jobs } = await taskWithJobs(count);
    await fixture.repos.pilots.register(pilotRegistration('pilot-backoff'));
    for (const job of jobs.slice(0, inBackoff)) {
      await fixture.repos.jobs.markQueued([job]);
      const claimToken = await fixture.repos.jobs.claim({ ...job, pilotId: 'pilot-backoff' });
      await fixture.repos.jobs.retry({
        ...job,
        from: 'RUNNING',
        claimToken,
        errorCode: 1201,
        retryAfter: LATER,
      });
    }
    return { task, jobs: await fixture.repos.jobs.getMany(jobs.map((job) => job.jobId)) };
  }

  it('stores the retry time of the next attempt and lists a job READY only once it is over', async () => {
    const { task, jobs } = await jobsInBackoff(1, 1);

    expect(jobs[0]).toMatchObject({ state: 'READY', attempt: 1, retryAfter: LATER });
    expect(await fixture.repos.jobs.listReady(task.taskId, 5, { readyBy: NOW })).toEqual([]);
    expect(await fixture.repos.jobs.listReady(task.taskId, 5, { readyBy: LATER })).toHaveLength(1);
    expect(await fixture.repos.jobs.listReady(task.taskId, 5)).toHaveLength(1);
  });

  it('reads further pages until it finds `limit` jobs past the ones in backoff', async () => {
    // Prepare: in key order, the first six READY jobs wait out a backoff.
    const { task, jobs } = await jobsInBackoff(9, 6);
    const dispatchable = jobs.filter((job) => job.retryAfter === undefined).map((job) => job.jobId);
    fixture.calls.reset();

    // Act
    const ready = await fixture.repos.jobs.listReady(task.taskId, 2, { readyBy: NOW });

    // Assess
    expect(ready.map((job) => job.jobId).every((jobId) => dispatchable.includes(jobId))).toBe(true);
    expect(ready).toHaveLength(2);
    expect(fixture.calls.count({ operation: 'Query' })).toBeGreaterThan(1);
  });

  it('drops the retry time when the job is queued or re-queued, and a retry without one clears it', async () => {
    const { task, jobs } = await jobsInBackoff(1, 1);
    const job = jobs[0]!;

    await fixture.repos.jobs.markQueued([job]);
    const queued = await fixture.repos.jobs.get(job.jobId);
    await fixture.repos.jobs.requeue([job]);
    const requeued = await fixture.repos.jobs.get(job.jobId);

    expect(queued.retryAfter).toBeUndefined();
    expect(requeued).toMatchObject({ state: 'READY', attempt: 1 });
    expect(requeued.retryAfter).toBeUndefined();
    expect(await fixture.repos.jobs.listReady(task.taskId, 5, { readyBy: NOW })).toHaveLength(1);
    await expect(
      fixture.repos.jobs.retry({
        ...job,
        from: 'RUNNING',
        claimToken: 'c'.repeat(32),
        errorCode: 1,
        retryAfter: 'soon',
      }),
    ).rejects.toThrow(ValidationError);
  });
});
