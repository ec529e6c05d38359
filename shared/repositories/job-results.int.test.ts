import { beforeAll, describe, expect, it } from 'vitest';
import {
  jobCounts as counts,
  jobScenes,
  jobsFixture,
  newFile,
  outputFile,
  type RepositoryFixture,
} from '../../test/support/index.js';
import { StaleAttemptError, StateConflictError, ValidationError } from '../errors/index.js';

let fixture: RepositoryFixture;
const { runningJob, countsOf } = jobScenes(() => fixture);

beforeAll(async () => {
  fixture = await jobsFixture('jobs-results');
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
