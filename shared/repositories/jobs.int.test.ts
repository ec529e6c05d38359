import { beforeAll, describe, expect, it } from 'vitest';
import {
  fileRef,
  newFile,
  outputFile,
  pilotRegistration,
  type RepositoryFixture,
  repositoryFixture,
  taskSpec,
} from '../../test/support/index.js';
import {
  AlreadyClaimedError,
  AlreadyExistsError,
  InvalidTransitionError,
  NotFoundError,
  PilotNotLiveError,
  StaleAttemptError,
  StateConflictError,
  ValidationError,
} from '../errors/index.js';
import { planJobs } from '../jobgen/index.js';
import type { JobRecord, OutputFile } from '../model/index.js';
import { JOB_STATES, type JobCounts, type JobState, type TaskRecord } from '../model/index.js';

let fixture: RepositoryFixture;
let taskCounter = 0;

/** Pilots that claim in these tests: a claim needs its pilot ACTIVE or IDLE. */
const PILOTS = [
  'p',
  'pilot-count',
  'pilot-late',
  'pilot-c',
  ...Array.from({ length: 20 }, (_, i) => `pilot-${i}`),
];

beforeAll(async () => {
  fixture = await repositoryFixture('jobs');
  for (const pilotId of PILOTS) await fixture.repos.pilots.register(pilotRegistration(pilotId));
});

function counts(nonZero: Partial<JobCounts>): JobCounts {
  return { ...(Object.fromEntries(JOB_STATES.map((state) => [state, 0])) as JobCounts), ...nonZero };
}

/** A RUNNING task with `jobCount` READY map jobs. */
async function taskWithJobs(jobCount: number): Promise<{ task: TaskRecord; jobs: JobRecord[] }> {
  taskCounter += 1;
  const taskId = `t-jobs-${taskCounter}`;
  await fixture.repos.tasks.create(taskId, taskSpec());
  const { task } = await fixture.repos.tasks.transition({ taskId, from: 'REGISTERED', to: 'RUNNING' });
  const files = Array.from({ length: jobCount }, (_, index) =>
    fileRef(`run42_${String(index).padStart(5, '0')}.raw`),
  );
  const plan = planJobs({ taskId, mode: 'map', filesPerJob: 1 }, files, { final: true });
  await fixture.repos.jobs.createJobs(task, plan.jobs);
  const jobs = await fixture.repos.jobs.getMany(plan.jobs.map((job) => job.jobId));
  return { task, jobs: jobs.sort((a, b) => a.jobId.localeCompare(b.jobId)) };
}

async function queuedJob(): Promise<{ task: TaskRecord; job: JobRecord }> {
  const { task, jobs } = await taskWithJobs(1);
  const job = jobs[0]!;
  await fixture.repos.jobs.markQueued([job]);
  return { task, job };
}

async function runningJob(
  pilotId = 'pilot-a',
): Promise<{ task: TaskRecord; job: JobRecord; claimToken: string }> {
  const { task, job } = await queuedJob();
  await fixture.repos.pilots.register(pilotRegistration(pilotId));
  const claimToken = await fixture.repos.jobs.claim({ ...job, pilotId });
  return { task, job, claimToken };
}

async function countsOf(taskId: string): Promise<JobCounts> {
  return (await fixture.repos.tasks.get(taskId)).counts;
}

describe('JobsRepo.createJobs', () => {
  it('creates each planned job once when generation runs twice, keeping jobsTotal and counts exact', async () => {
    // Prepare
    const taskId = 't-generation-twice';
    const { task } = await fixture.repos.tasks.create(taskId, taskSpec({ mode: 'merge', filesPerJob: 3 }));
    const files = Array.from({ length: 10 }, (_, index) => fileRef(`f${index}.raw`));
    const firstPlan = planJobs({ taskId, mode: 'merge', filesPerJob: 3 }, files.slice(0, 7), {
      final: false,
    });
    const secondPlan = planJobs({ taskId, mode: 'merge', filesPerJob: 3 }, files, { final: true });

    // Act
    const first = await fixture.repos.jobs.createJobs(task, firstPlan.jobs);
    const second = await fixture.repos.jobs.createJobs(task, secondPlan.jobs);
    const third = await fixture.repos.jobs.createJobs(task, secondPlan.jobs);

    // Assess
    expect(first.created).toHaveLength(2);
    expect(second.created).toHaveLength(2);
    expect(second.existing.sort()).toEqual([...first.created].sort());
    expect(third).toEqual({ created: [], existing: secondPlan.jobs.map((job) => job.jobId) });
    const stored = await fixture.repos.tasks.get(taskId);
    expect(stored.jobsTotal).toBe(4);
    expect(stored.counts).toEqual(counts({ READY: 4 }));
    const listed = await fixture.repos.jobs.listByTask(taskId);
    expect(listed.items.map((job) => job.jobId).sort()).toEqual(
      secondPlan.jobs.map((job) => job.jobId).sort(),
    );
    expect(listed.items.every((job) => job.state === 'READY' && job.attempt === 0 && job.rank === 5)).toBe(
      true,
    );
  });

  it('splits large generations into transactions of at most 100 items and counts each job once under concurrency', async () => {
    // Prepare
    const taskId = 't-generation-large';
    const { task } = await fixture.repos.tasks.create(taskId, taskSpec());
    const files = Array.from({ length: 250 }, (_, index) =>
      fileRef(`big_${String(index).padStart(4, '0')}.raw`),
    );
    const plan = planJobs({ taskId, mode: 'map', filesPerJob: 1 }, files, { final: true });
    fixture.calls.reset();

    // Act: two generators race over overlapping halves.
    const [a, b] = await Promise.all([
      fixture.repos.jobs.createJobs(task, plan.jobs.slice(0, 180)),
      fixture.repos.jobs.createJobs(task, plan.jobs.slice(70)),
    ]);

    // Assess
    expect(new Set([...a.created, ...b.created]).size).toBe(250);
    expect(a.created.length + b.created.length).toBe(250);
    const stored = await fixture.repos.tasks.get(taskId);
    expect(stored.jobsTotal).toBe(250);
    expect(stored.counts).toEqual(counts({ READY: 250 }));
    expect(fixture.calls.count({ operation: 'TransactWriteItems' })).toBeGreaterThanOrEqual(4);
  });

  it('refuses jobs for a missing task or one that takes no more jobs, and duplicate ids', async () => {
    const files = [fileRef('x.raw')];
    const plan = planJobs({ taskId: 't-absent', mode: 'map', filesPerJob: 1 }, files, { final: true });
    await expect(
      fixture.repos.jobs.createJobs({ taskId: 't-absent', device: 'CPU', rank: 1 }, plan.jobs),
    ).rejects.toThrow(NotFoundError);

    const { task } = await fixture.repos.tasks.create('t-cancelled-gen', taskSpec());
    await fixture.repos.tasks.transition({ taskId: task.taskId, from: 'REGISTERED', to: 'CANCELLED' });
    const cancelledPlan = planJobs({ taskId: task.taskId, mode: 'map', filesPerJob: 1 }, files, {
      final: true,
    });
    await expect(fixture.repos.jobs.createJobs(task, cancelledPlan.jobs)).rejects.toThrow(StateConflictError);
    expect(await fixture.repos.jobs.listByTask(task.taskId)).toEqual({ items: [] });

    const job = cancelledPlan.jobs[0]!;
    await expect(fixture.repos.jobs.createJobs(task, [job, job])).rejects.toThrow(ValidationError);
  });
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

describe('a job run reported by its pilot', () => {
  it('moves phases forward only, completes once and indexes the job by pilot only while RUNNING', async () => {
    // Prepare
    const { task, job, claimToken } = await runningJob('pilot-run');
    const report = { ...job, claimToken };

    // Act
    const stageIn = await fixture.repos.jobs.updatePhase({
      ...report,
      phase: 'STAGE_IN',
      at: '2026-11-21T10:00:01.000Z',
    });
    const executing = await fixture.repos.jobs.updatePhase({
      ...report,
      phase: 'EXECUTING',
      at: '2026-11-21T10:00:02.000Z',
    });
    const backwards = await fixture.repos.jobs.updatePhase({
      ...report,
      phase: 'STAGE_IN',
      at: '2026-11-21T10:00:03.000Z',
    });
    const repeated = await fixture.repos.jobs.updatePhase({
      ...report,
      phase: 'EXECUTING',
      at: '2026-11-21T10:00:04.000Z',
    });
    const whileRunning = await fixture.repos.jobs.listByPilot('pilot-run');
    fixture.calls.reset();
    const completed = await fixture.repos.jobs.complete({
      ...report,
      outputs: [outputFile('o.root')],
      exitCode: 0,
    });
    const completeCalls = fixture.calls.count();
    const again = await fixture.repos.jobs.complete({
      ...report,
      outputs: [outputFile('o.root')],
      exitCode: 0,
    });

    // Assess
    expect([stageIn, executing, backwards, repeated, completed, again]).toEqual([
      true,
      true,
      false,
      false,
      true,
      false,
    ]);
    expect(completeCalls).toBe(1);
    expect(whileRunning.items).toEqual([
      expect.objectContaining({
        jobId: job.jobId,
        taskId: task.taskId,
        state: 'RUNNING',
        attempt: 0,
        pilotId: 'pilot-run',
      }),
    ]);
    expect((await fixture.repos.jobs.listByPilot('pilot-run')).items).toEqual([]);
    const stored = await fixture.repos.jobs.get(job.jobId);
    expect(stored).toMatchObject({
      state: 'DONE',
      errorCode: 0,
      exitCode: 0,
      outputs: [outputFile('o.root')],
    });
    expect(stored.phaseTimes).toMatchObject({
      STAGE_IN: '2026-11-21T10:00:01.000Z',
      EXECUTING: '2026-11-21T10:00:02.000Z',
    });
    expect(stored.phase).toBeUndefined();
    expect(await countsOf(task.taskId)).toEqual(counts({ DONE: 1 }));
  });

  it('refuses reports with another claim token, and phase reports for a job that is not running', async () => {
    const { job, claimToken } = await runningJob();
    const forged = { ...job, claimToken: 'f'.repeat(32) };

    await expect(fixture.repos.jobs.complete({ ...forged, outputs: [] })).rejects.toThrow(
      /claim token does not match/,
    );
    await expect(
      fixture.repos.jobs.updatePhase({ ...forged, phase: 'STAGE_OUT', at: '2026-11-21T10:00:00.000Z' }),
    ).rejects.toThrow(/claim token does not match/);
    await fixture.repos.jobs.complete({ ...job, claimToken, outputs: [] });
    await expect(
      fixture.repos.jobs.updatePhase({
        ...job,
        claimToken,
        phase: 'STAGE_OUT',
        at: '2026-11-21T10:00:00.000Z',
      }),
    ).rejects.toThrow(StateConflictError);
  });

  it('ignores a stale attempt: a result for attempt 0 after the retry to attempt 1 changes nothing', async () => {
    // Prepare
    const { task, job, claimToken } = await runningJob();
    await fixture.repos.jobs.retry({
      ...job,
      from: 'RUNNING',
      claimToken,
      errorCode: 1201,
      errorMessage: 'exit 3',
    });
    const before = await fixture.repos.jobs.get(job.jobId);
    const countsBefore = await countsOf(task.taskId);

    // Act / Assess
    await expect(
      fixture.repos.jobs.complete({ ...job, claimToken, outputs: [outputFile('late.root')] }),
    ).rejects.toThrow(StaleAttemptError);
    await expect(
      fixture.repos.jobs.fail({ ...job, from: 'RUNNING', claimToken, errorCode: 1201 }),
    ).rejects.toThrow(StaleAttemptError);
    await expect(
      fixture.repos.jobs.updatePhase({
        ...job,
        claimToken,
        phase: 'STAGE_OUT',
        at: '2026-11-21T10:00:00.000Z',
      }),
    ).rejects.toThrow(StaleAttemptError);
    await expect(fixture.repos.jobs.claim({ ...job, pilotId: 'pilot-late' })).rejects.toThrow(
      StaleAttemptError,
    );
    expect(before).toMatchObject({ state: 'READY', attempt: 1, errorCode: 1201, errorMessage: 'exit 3' });
    expect(before.pilotId).toBeUndefined();
    expect(before.claimToken).toBeUndefined();
    expect(await fixture.repos.jobs.get(job.jobId)).toEqual(before);
    expect(await countsOf(task.taskId)).toEqual(countsBefore);
    expect(countsBefore).toEqual(counts({ READY: 1 }));
  });

  it('treats a repeated retry as done, and a failure report without a claim token as invalid', async () => {
    const { job, claimToken } = await runningJob();
    const retry = { ...job, from: 'RUNNING' as const, claimToken, errorCode: 1201, rank: 7 };

    expect(await fixture.repos.jobs.retry(retry)).toBe(true);
    expect(await fixture.repos.jobs.retry(retry)).toBe(false);
    expect((await fixture.repos.jobs.get(job.jobId)).rank).toBe(7);
    await expect(fixture.repos.jobs.fail({ ...job, from: 'RUNNING', errorCode: 1 })).rejects.toThrow(
      ValidationError,
    );
  });

  it('fails a running job for good, once', async () => {
    const { task, job, claimToken } = await runningJob();
    const failure = {
      ...job,
      from: 'RUNNING' as const,
      claimToken,
      errorCode: 1202,
      errorMessage: 'not found',
      exitCode: 127,
    };

    expect(await fixture.repos.jobs.fail(failure)).toBe(true);
    expect(await fixture.repos.jobs.fail(failure)).toBe(false);
    expect(await fixture.repos.jobs.get(job.jobId)).toMatchObject({
      state: 'FAILED',
      errorCode: 1202,
      exitCode: 127,
    });
    expect(await countsOf(task.taskId)).toEqual(counts({ FAILED: 1 }));
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

  it('marks the jobs of a lost pilot LOST, then retries or fails them', async () => {
    // Prepare: two jobs run by the lost pilot, one by another pilot.
    const lostA = await runningJob('pilot-lost');
    const lostB = await runningJob('pilot-lost');
    const other = await runningJob('pilot-alive');
    const ofLostPilot = (await fixture.repos.jobs.listByPilot('pilot-lost')).items;

    // Act
    const lost = await fixture.repos.jobs.markLost([
      ...ofLostPilot.map((job) => ({ ...job, from: 'RUNNING' as const, pilotId: 'pilot-lost' })),
      { ...other.job, from: 'RUNNING', pilotId: 'pilot-lost' },
    ]);
    const inFlightLost = await fixture.repos.jobs.listInFlight('LOST');
    const retried = await fixture.repos.jobs.retry({ ...lostA.job, from: 'LOST', errorCode: 1501 });
    const failed = await fixture.repos.jobs.fail({ ...lostB.job, from: 'LOST', errorCode: 1501 });

    // Assess
    expect(lost.applied.map((job) => job.jobId).sort()).toEqual([lostA.job.jobId, lostB.job.jobId].sort());
    expect(lost.refused.map((refusal) => refusal.error.message)).toEqual([
      `job ${other.job.jobId} is not run by pilot pilot-lost`,
    ]);
    expect(inFlightLost.items.map((job) => job.jobId)).toEqual(
      expect.arrayContaining([lostA.job.jobId, lostB.job.jobId]),
    );
    expect([retried, failed]).toEqual([true, true]);
    expect(await fixture.repos.jobs.get(lostA.job.jobId)).toMatchObject({ state: 'READY', attempt: 1 });
    expect(await countsOf(lostA.task.taskId)).toEqual(counts({ READY: 1 }));
    expect(await countsOf(lostB.task.taskId)).toEqual(counts({ FAILED: 1 }));
    expect(await countsOf(other.task.taskId)).toEqual(counts({ RUNNING: 1 }));
    expect((await fixture.repos.jobs.listInFlight('LOST')).items.map((job) => job.jobId)).not.toContain(
      lostA.job.jobId,
    );
  });

  it('finds jobs stuck in QUEUED by age and requeues them with the same attempt', async () => {
    const { task, job } = await queuedJob();
    const later = new Date(Date.now() + 60_000).toISOString();
    const earlier = new Date(Date.now() - 60_000).toISOString();

    const stuck = await fixture.repos.jobs.listInFlight('QUEUED', { updatedBefore: later, limit: 1000 });
    const fresh = await fixture.repos.jobs.listInFlight('QUEUED', { updatedBefore: earlier });
    const requeued = await fixture.repos.jobs.requeue([job]);

    expect(stuck.items.map((item) => item.jobId)).toContain(job.jobId);
    expect(fresh.items.map((item) => item.jobId)).not.toContain(job.jobId);
    expect(requeued.applied).toEqual([{ jobId: job.jobId, taskId: task.taskId, attempt: 0, from: 'QUEUED' }]);
    expect(await fixture.repos.jobs.get(job.jobId)).toMatchObject({ state: 'READY', attempt: 0 });
    expect(await countsOf(task.taskId)).toEqual(counts({ READY: 1 }));
  });

  it('cancels pending and running jobs by their state, refusing a job whose state changed', async () => {
    const { task, jobs } = await taskWithJobs(4);
    const [ready, queued, running, moved] = jobs as [JobRecord, JobRecord, JobRecord, JobRecord];
    await fixture.repos.jobs.markQueued([queued, running, moved]);
    await fixture.repos.jobs.claim({ ...running, pilotId: 'pilot-c' });

    const result = await fixture.repos.jobs.cancel([
      { ...ready, from: 'READY' },
      { ...queued, from: 'QUEUED' },
      { ...running, from: 'RUNNING' },
      { ...moved, from: 'READY' },
    ]);

    expect(result.applied.map((job) => job.jobId)).toEqual([ready.jobId, queued.jobId, running.jobId]);
    expect(result.refused.map((refusal) => [refusal.job.jobId, refusal.current?.state])).toEqual([
      [moved.jobId, 'QUEUED'],
    ]);
    expect(await countsOf(task.taskId)).toEqual(counts({ CANCELLED: 3, QUEUED: 1 }));
    expect((await fixture.repos.jobs.listByPilot('pilot-c')).items).toEqual([]);
  });

  it('refuses a transition the job machine does not allow before writing anything', async () => {
    const { jobs } = await taskWithJobs(1);
    fixture.calls.reset();

    await expect(fixture.repos.jobs.cancel([{ ...jobs[0]!, from: 'DONE' as JobState }])).rejects.toThrow(
      InvalidTransitionError,
    );
    expect(fixture.calls.count()).toBe(0);
  });
});

describe('job queries', () => {
  it('page through a task by state with cursors', async () => {
    const { task, jobs } = await taskWithJobs(7);
    await fixture.repos.jobs.markQueued(jobs.slice(0, 2));

    const pages = [];
    let page = await fixture.repos.jobs.listByTask(task.taskId, { state: 'READY', limit: 2 });
    pages.push(page.items);
    while (page.cursor) {
      page = await fixture.repos.jobs.listByTask(task.taskId, {
        state: 'READY',
        limit: 2,
        cursor: page.cursor,
      });
      pages.push(page.items);
    }

    const ids = pages.flat().map((job) => job.jobId);
    expect(ids).toEqual(jobs.slice(2).map((job) => job.jobId));
    expect(pages.every((items) => items.length <= 2)).toBe(true);
    await expect(fixture.repos.jobs.listByTask(task.taskId, { cursor: 'not-a-cursor' })).rejects.toThrow(
      ValidationError,
    );
    await expect(fixture.repos.jobs.listByTask(task.taskId, { limit: 0 })).rejects.toThrow(ValidationError);
  });

  it('get an unknown job as NotFoundError and skip unknown ids in getMany', async () => {
    const { jobs } = await taskWithJobs(2);

    await expect(fixture.repos.jobs.get('j-none')).rejects.toThrow(NotFoundError);
    expect(await fixture.repos.jobs.find('j-none')).toBeUndefined();
    const many = await fixture.repos.jobs.getMany([jobs[0]!.jobId, 'j-none', jobs[1]!.jobId]);
    expect(many.map((job) => job.jobId).sort()).toEqual(jobs.map((job) => job.jobId).sort());
  });
});

describe('JobsRepo.completeWithOutputs', () => {
  async function datasetsForOutputs(label: string): Promise<{ output: string; log: string }> {
    const output = await fixture.repos.datasets.create({
      uid: `ds-${label}-out`,
      name: `${label}-out`,
      kind: 'output',
    });
    const log = await fixture.repos.datasets.create({
      uid: `ds-${label}-log`,
      name: `${label}-log`,
      kind: 'log',
    });
    return { output: output.dataset.uid, log: log.dataset.uid };
  }

  it('completes the job and registers its outputs and log in one call', async () => {
    // Prepare
    const { task, job, claimToken } = await runningJob();
    const datasets = await datasetsForOutputs('cwo-happy');
    const outputs = [
      outputFile('a.root', { size: 10 }),
      outputFile('b.root', { size: 20 }),
      outputFile('job.log', { kind: 'log', size: 5 }),
    ];
    fixture.calls.reset();

    // Act
    const result = await fixture.repos.jobs.completeWithOutputs({ ...job, claimToken, outputs, datasets });

    // Assess
    expect(fixture.calls.snapshot()).toEqual([
      { service: 'DynamoDB', operation: 'TransactWriteItems', calls: 1 },
    ]);
    expect(result.applied).toBe(true);
    expect(result.files.created.map((file) => [file.datasetUid, file.name, file.jobId])).toEqual([
      [datasets.output, 'a.root', job.jobId],
      [datasets.output, 'b.root', job.jobId],
      [datasets.log, 'job.log', job.jobId],
    ]);
    expect(await fixture.repos.datasets.get(datasets.output)).toMatchObject({ fileCount: 2, totalBytes: 30 });
    expect(await fixture.repos.datasets.get(datasets.log)).toMatchObject({ fileCount: 1, totalBytes: 5 });
    expect(await fixture.repos.jobs.get(job.jobId)).toMatchObject({ state: 'DONE', outputs });
    expect(await countsOf(task.taskId)).toEqual(counts({ DONE: 1 }));
  });

  it('registers nothing for a stale result, and only idempotently for a repeated one', async () => {
    // Prepare
    const { job, claimToken } = await runningJob();
    const datasets = await datasetsForOutputs('cwo-stale');
    const outputs = [outputFile('r.root')];
    await fixture.repos.jobs.completeWithOutputs({ ...job, claimToken, outputs, datasets });
    const stale = await runningJob();
    await fixture.repos.jobs.retry({
      ...stale.job,
      from: 'RUNNING',
      claimToken: stale.claimToken,
      errorCode: 1201,
    });

    // Act
    const repeated = await fixture.repos.jobs.completeWithOutputs({ ...job, claimToken, outputs, datasets });
    const refused = fixture.repos.jobs.completeWithOutputs({
      ...stale.job,
      claimToken: stale.claimToken,
      outputs: [outputFile('stale.root')],
      datasets,
    });

    // Assess
    expect(repeated.applied).toBe(false);
    expect(repeated.files.existing.map((file) => file.name)).toEqual(['r.root']);
    await expect(refused).rejects.toThrow(StaleAttemptError);
    expect(await fixture.repos.files.find(datasets.output, 'stale.root')).toBeUndefined();
    expect(await fixture.repos.datasets.get(datasets.output)).toMatchObject({ fileCount: 1 });
  });

  it('completes the job while leaving out a conflicting output and the files of a closed dataset', async () => {
    // Prepare
    const { task, job, claimToken } = await runningJob();
    const datasets = await datasetsForOutputs('cwo-conflict');
    await fixture.repos.files.register(newFile(datasets.output, 'taken.root', { kind: 'output', size: 1 }));
    await fixture.repos.datasets.close(datasets.log);
    fixture.calls.reset();

    // Act
    const result = await fixture.repos.jobs.completeWithOutputs({
      ...job,
      claimToken,
      outputs: [
        outputFile('taken.root', { size: 2 }),
        outputFile('fresh.root'),
        outputFile('job.log', { kind: 'log' }),
      ],
      datasets,
    });

    // Assess
    expect(result.applied).toBe(true);
    expect(result.files.created.map((file) => file.name)).toEqual(['fresh.root']);
    expect(result.files.refused.map((refusal) => [refusal.file.name, refusal.error.name])).toEqual([
      ['taken.root', 'AlreadyExistsError'],
      ['job.log', 'StateConflictError'],
    ]);
    expect(fixture.calls.count({ operation: 'TransactWriteItems' })).toBe(2);
    expect(await fixture.repos.datasets.get(datasets.output)).toMatchObject({ fileCount: 2 });
    expect(await countsOf(task.taskId)).toEqual(counts({ DONE: 1 }));
  });

  it('registers outputs too many for one transaction right after the completion', async () => {
    const { job, claimToken } = await runningJob();
    const datasets = await datasetsForOutputs('cwo-many');
    const outputs = Array.from({ length: 100 }, (_, index) => outputFile(`many-${index}.root`));

    const result = await fixture.repos.jobs.completeWithOutputs({ ...job, claimToken, outputs, datasets });

    expect(result.applied).toBe(true);
    expect(result.files.created).toHaveLength(100);
    expect(await fixture.repos.datasets.get(datasets.output)).toMatchObject({ fileCount: 100 });
    expect((await fixture.repos.jobs.get(job.jobId)).state).toBe('DONE');
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

async function outputDatasets(label: string): Promise<{ output: string; log: string }> {
  for (const kind of ['output', 'log'] as const) {
    await fixture.repos.datasets.create({ uid: `ds-${label}-${kind}`, name: `${label}-${kind}`, kind });
  }
  return { output: `ds-${label}-output`, log: `ds-${label}-log` };
}

function filesOf(job: JobRecord, datasets: { output: string; log: string }, names: string[]) {
  return names.map((name) =>
    name.endsWith('.log')
      ? { datasetUid: datasets.log, jobId: job.jobId, ...outputFile(name, { kind: 'log' }) }
      : { datasetUid: datasets.output, jobId: job.jobId, ...outputFile(name) },
  );
}

describe('JobsRepo.endAttempt', () => {
  it('ends the attempt DONE with its files, the counters and the dataset counts in one call', async () => {
    // Prepare
    const { task, job, claimToken } = await runningJob();
    const datasets = await outputDatasets('end-done');
    const files = filesOf(job, datasets, ['a.root', 'job.log']);
    fixture.calls.reset();

    // Act
    const result = await fixture.repos.jobs.endAttempt({
      ...job,
      claimToken,
      end: {
        to: 'DONE',
        outputs: files.map(({ datasetUid: _uid, jobId: _job, ...file }) => file),
        exitCode: 0,
      },
      files,
      taskStates: ['RUNNING'],
    });

    // Assess
    expect(fixture.calls.snapshot()).toEqual([
      { service: 'DynamoDB', operation: 'TransactWriteItems', calls: 1 },
    ]);
    expect(result.status).toBe('applied');
    expect(await fixture.repos.jobs.get(job.jobId)).toMatchObject({
      state: 'DONE',
      errorCode: 0,
      exitCode: 0,
    });
    expect(await countsOf(task.taskId)).toEqual(counts({ DONE: 1 }));
    expect(await fixture.repos.datasets.get(datasets.output)).toMatchObject({ fileCount: 1 });
    expect(await fixture.repos.files.find(datasets.log, 'job.log')).toMatchObject({ jobId: job.jobId });
  });

  it('retries with the backoff and the log, and counts a log registered before as existing', async () => {
    const { task, job, claimToken } = await runningJob();
    const datasets = await outputDatasets('end-retry');
    const [log] = filesOf(job, datasets, ['retry.log']);
    await fixture.repos.files.register(log!);

    const result = await fixture.repos.jobs.endAttempt({
      ...job,
      claimToken,
      end: { to: 'READY', errorCode: 1201, errorMessage: 'exit 3', retryAfter: '2030-01-01T00:00:10.000Z' },
      files: [log!],
      taskStates: ['RUNNING'],
    });

    expect(result).toMatchObject({
      status: 'applied',
      files: { created: [], existing: [{ name: 'retry.log' }] },
    });
    expect(await fixture.repos.jobs.get(job.jobId)).toMatchObject({
      state: 'READY',
      attempt: 1,
      errorCode: 1201,
      retryAfter: '2030-01-01T00:00:10.000Z',
    });
    expect(await countsOf(task.taskId)).toEqual(counts({ READY: 1 }));
    expect(await fixture.repos.datasets.get(datasets.log)).toMatchObject({ fileCount: 1 });
  });

  it('writes nothing and says which guard refused: the job, the task, or the files', async () => {
    // Prepare
    const stale = await runningJob();
    await fixture.repos.jobs.retry({
      ...stale.job,
      from: 'RUNNING',
      claimToken: stale.claimToken,
      errorCode: 1201,
    });
    const ofCancelledTask = await runningJob();
    await fixture.repos.tasks.transition({
      taskId: ofCancelledTask.task.taskId,
      from: 'RUNNING',
      to: 'CANCELLED',
    });
    const clashing = await runningJob();
    const datasets = await outputDatasets('end-refused');
    const [taken, fresh] = filesOf(clashing.job, datasets, ['taken.root', 'fresh.root']);
    await fixture.repos.files.register({ ...taken!, size: 1 });
    await fixture.repos.datasets.close(datasets.log);
    const [log] = filesOf(clashing.job, datasets, ['closed.log']);
    const end = { to: 'FAILED' as const, errorCode: 1202 };

    // Act
    const jobRefused = await fixture.repos.jobs.endAttempt({
      ...stale.job,
      claimToken: stale.claimToken,
      end,
      files: [],
    });
    const taskRefused = await fixture.repos.jobs.endAttempt({
      ...ofCancelledTask.job,
      claimToken: ofCancelledTask.claimToken,
      end,
      files: [],
      taskStates: ['RUNNING'],
    });
    const filesRefused = await fixture.repos.jobs.endAttempt({
      ...clashing.job,
      claimToken: clashing.claimToken,
      end,
      files: [taken!, fresh!, log!],
      taskStates: ['RUNNING'],
    });

    // Assess
    expect(jobRefused).toMatchObject({ status: 'job-refused', current: { state: 'READY', attempt: 1 } });
    expect(taskRefused).toMatchObject({ status: 'task-refused', current: { state: 'CANCELLED' } });
    expect(filesRefused.status).toBe('files-refused');
    const refused = filesRefused.status === 'files-refused' ? filesRefused.refused : [];
    expect(refused.map((refusal) => [refusal.file.name, refusal.error.constructor])).toEqual([
      ['taken.root', AlreadyExistsError],
      ['closed.log', StateConflictError],
    ]);
    expect(refused[0]?.current).toMatchObject({ size: 1 });
    for (const running of [ofCancelledTask, clashing]) {
      expect((await fixture.repos.jobs.get(running.job.jobId)).state).toBe('RUNNING');
      expect(await countsOf(running.task.taskId)).toEqual(counts({ RUNNING: 1 }));
    }
    expect(await fixture.repos.files.find(datasets.output, 'fresh.root')).toBeUndefined();
  });

  it('cancels the job of a cancelled task when no task state is required', async () => {
    const { task, job, claimToken } = await runningJob();
    await fixture.repos.tasks.transition({ taskId: task.taskId, from: 'RUNNING', to: 'CANCELLED' });
    const datasets = await outputDatasets('end-cancel');

    const result = await fixture.repos.jobs.endAttempt({
      ...job,
      claimToken,
      end: { to: 'CANCELLED' },
      files: filesOf(job, datasets, ['kept.log']),
    });

    expect(result.status).toBe('applied');
    expect((await fixture.repos.jobs.get(job.jobId)).state).toBe('CANCELLED');
    expect(await countsOf(task.taskId)).toEqual(counts({ CANCELLED: 1 }));
    expect(await fixture.repos.files.find(datasets.log, 'kept.log')).toBeDefined();
  });

  it('registers files beyond one transaction first, each chunk guarded by the job still being this attempt', async () => {
    // Prepare
    const { task, job, claimToken } = await runningJob();
    const datasets = await outputDatasets('end-many');
    const names = Array.from({ length: 99 }, (_, index) => `many-${index}.root`);
    const stale = await runningJob();
    await fixture.repos.jobs.retry({
      ...stale.job,
      from: 'RUNNING',
      claimToken: stale.claimToken,
      errorCode: 1201,
    });
    fixture.calls.reset();

    // Act
    const applied = await fixture.repos.jobs.endAttempt({
      ...job,
      claimToken,
      end: { to: 'DONE', outputs: names.map((name) => outputFile(name)) },
      files: filesOf(job, datasets, names),
      taskStates: ['RUNNING'],
    });
    const calls = fixture.calls.count({ operation: 'TransactWriteItems' });
    const refused = await fixture.repos.jobs.endAttempt({
      ...stale.job,
      claimToken: stale.claimToken,
      end: { to: 'DONE', outputs: [] },
      files: filesOf(
        stale.job,
        datasets,
        names.map((name) => `stale-${name}`),
      ),
    });

    // Assess
    expect(applied.status).toBe('applied');
    expect(calls).toBe(2);
    expect(await fixture.repos.datasets.get(datasets.output)).toMatchObject({ fileCount: 99 });
    expect(await countsOf(task.taskId)).toEqual(counts({ DONE: 1 }));
    expect(refused.status).toBe('job-refused');
    expect(await fixture.repos.files.find(datasets.output, 'stale-many-0.root')).toBeUndefined();
  });
});

describe('JobsRepo.endAttemptsTogether', () => {
  async function runningJobs(count: number) {
    const { task, jobs } = await taskWithJobs(count);
    await fixture.repos.jobs.markQueued(jobs);
    const claimed: { job: JobRecord; claimToken: string }[] = [];
    for (const job of jobs)
      claimed.push({ job, claimToken: await fixture.repos.jobs.claim({ ...job, pilotId: 'pilot-a' }) });
    return { task, claimed };
  }

  const withoutTarget = ({
    datasetUid: _uid,
    jobId: _job,
    ...file
  }: { datasetUid: string; jobId: string } & OutputFile) => file;

  it("ends several attempts in one transaction, each task's and dataset's counters moved once for all", async () => {
    // Prepare
    const { task, claimed } = await runningJobs(3);
    const datasets = await outputDatasets('together');
    const [first, second, third] = claimed.map(({ job, claimToken }) => ({ ...job, claimToken }));
    const done = (job: JobRecord & { claimToken: string }) => {
      const files = filesOf(job, datasets, [`${job.jobId}.root`, `${job.jobId}.log`]);
      return {
        ...job,
        end: { to: 'DONE' as const, outputs: files.map(withoutTarget) },
        files,
        taskStates: ['RUNNING' as const],
      };
    };
    const retried = {
      ...third!,
      end: {
        to: 'READY' as const,
        errorCode: 1201,
        errorMessage: 'exit 3',
        retryAfter: '2030-01-01T00:00:10.000Z',
      },
      files: filesOf(third!, datasets, [`${third!.jobId}.log`]),
      taskStates: ['RUNNING' as const],
    };
    fixture.calls.reset();

    // Act
    const registered = await fixture.repos.jobs.endAttemptsTogether([done(first!), done(second!), retried]);

    // Assess
    expect(fixture.calls.snapshot()).toEqual([
      { service: 'DynamoDB', operation: 'TransactWriteItems', calls: 1 },
    ]);
    expect(registered?.map((files) => files.map((file) => file.name))).toEqual([
      [`${first!.jobId}.root`, `${first!.jobId}.log`],
      [`${second!.jobId}.root`, `${second!.jobId}.log`],
      [`${third!.jobId}.log`],
    ]);
    const jobs = await fixture.repos.jobs.getMany(claimed.map(({ job }) => job.jobId));
    expect(jobs.map((job) => [job.jobId, job.state, job.attempt]).sort()).toEqual(
      [
        [first!.jobId, 'DONE', 0],
        [second!.jobId, 'DONE', 0],
        [third!.jobId, 'READY', 1],
      ].sort(),
    );
    expect(await countsOf(task.taskId)).toEqual(counts({ DONE: 2, READY: 1 }));
    const output = await fixture.repos.datasets.get(datasets.output);
    const log = await fixture.repos.datasets.get(datasets.log);
    expect([output.fileCount, log.fileCount]).toEqual([2, 3]);
    expect(await fixture.repos.files.find(datasets.log, `${third!.jobId}.log`)).toMatchObject({
      jobId: third!.jobId,
    });
  });

  it('writes nothing when any one of the guards refuses', async () => {
    // Prepare
    const { task, claimed } = await runningJobs(3);
    const datasets = await outputDatasets('together-refused');
    const requests = claimed.map(({ job, claimToken }, index) => {
      const files = filesOf(job, datasets, [`${job.jobId}.root`]);
      // The last one reports with a token that is not its claim's: a stale or foreign result.
      const token = index === 2 ? `${claimToken.slice(0, -1)}x` : claimToken;
      return {
        ...job,
        claimToken: token,
        end: { to: 'DONE' as const, outputs: files.map(withoutTarget) },
        files,
      };
    });

    // Act
    const registered = await fixture.repos.jobs.endAttemptsTogether(requests);

    // Assess
    expect(registered).toBeUndefined();
    const jobs = await fixture.repos.jobs.getMany(claimed.map(({ job }) => job.jobId));
    expect(jobs.map((job) => job.state)).toEqual(['RUNNING', 'RUNNING', 'RUNNING']);
    expect(await countsOf(task.taskId)).toEqual(counts({ RUNNING: 3 }));
    expect((await fixture.repos.datasets.get(datasets.output)).fileCount).toBe(0);
    expect(await fixture.repos.files.find(datasets.output, `${claimed[0]!.job.jobId}.root`)).toBeUndefined();
  });

  it('refuses one job twice, and attempts that do not fit one transaction, before writing', async () => {
    const { claimed } = await runningJobs(1);
    const { job, claimToken } = claimed[0]!;
    const datasets = await outputDatasets('together-invalid');
    const request = (names: string[]) => {
      const files = filesOf(job, datasets, names);
      return { ...job, claimToken, end: { to: 'DONE' as const, outputs: files.map(withoutTarget) }, files };
    };
    fixture.calls.reset();

    await expect(
      fixture.repos.jobs.endAttemptsTogether([request(['a.root']), request(['b.root'])]),
    ).rejects.toThrow(ValidationError);
    const many = Array.from({ length: 98 }, (_, index) => `many-${index}.root`);
    await expect(fixture.repos.jobs.endAttemptsTogether([request(many)])).rejects.toThrow(
      /101 items do not fit one transaction of 100/,
    );
    expect(fixture.calls.snapshot()).toEqual([]);
  });
});
