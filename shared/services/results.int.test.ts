import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import type { JobResultMessage } from '../../events/index.js';
import {
  fileRef,
  outputFile,
  pilotRegistration,
  type RepositoryFixture,
  repositoryFixture,
  taskSpec,
} from '../../test/support/index.js';
import { ERRORS, StateConflictError } from '../errors/index.js';
import { datasetUidFor } from '../ids/index.js';
import { planJobs } from '../jobgen/index.js';
import type { JobRecord, OutputFile, TaskRecord, TaskSpec } from '../model/index.js';
import { datasetTarget } from './dataset-locations.js';
import { applyPilotStatus, type ResultDeps } from './results.js';
import { TaskSpecCache } from './task-specs.js';

let fixture: RepositoryFixture;
let deps: ResultDeps;
let counter = 0;
const NOW = new Date('2025-06-01T12:00:00.000Z');
const DATA_BUCKET = 'spd-data';

beforeAll(async () => {
  fixture = await repositoryFixture('svc-results');
  for (const pilotId of ['pilot-a', 'pilot-b'])
    await fixture.repos.pilots.register(pilotRegistration(pilotId));
  deps = {
    repos: fixture.repos,
    eventBusName: 'wms-bus',
    dataBucket: DATA_BUCKET,
    taskSpecs: new TaskSpecCache(),
    retryPolicy: { baseSeconds: 10, maxSeconds: 60 },
    clock: () => NOW,
  };
});

interface RunningJob {
  task: TaskRecord;
  job: JobRecord;
  claimToken: string;
}

/** A RUNNING task with one job claimed by pilot-a; its output and log datasets do not exist yet. */
async function runningJob(spec: Partial<z.input<typeof TaskSpec>> = {}): Promise<RunningJob> {
  counter += 1;
  const taskId = `t-results-${counter}`;
  await fixture.repos.tasks.create(
    taskId,
    taskSpec({ outputDataset: `reco-${counter}`, logDataset: `reco-logs-${counter}`, ...spec }),
  );
  const { task } = await fixture.repos.tasks.transition({ taskId, from: 'REGISTERED', to: 'RUNNING' });
  const [planned] = planJobs(task, [fileRef(`in-${counter}.raw`)], { final: true }).jobs;
  await fixture.repos.jobs.createJobs(task, [planned!]);
  const ref = { jobId: planned!.jobId, taskId, attempt: 0 };
  await fixture.repos.jobs.markQueued([ref]);
  const claimToken = await fixture.repos.jobs.claim({ ...ref, pilotId: 'pilot-a' });
  return { task, job: await fixture.repos.jobs.get(ref.jobId), claimToken };
}

/** A claim of the job's next attempt, as the dispatcher and a pilot would make it. */
async function claimAgain(job: JobRecord): Promise<string> {
  const ref = { jobId: job.jobId, taskId: job.taskId, attempt: job.attempt };
  await fixture.repos.jobs.markQueued([ref]);
  return fixture.repos.jobs.claim({ ...ref, pilotId: 'pilot-b' });
}

/** Where the job's file `name` of `kind` must be: its dataset's target, as the job message gives it. */
function placeOf(running: RunningJob, kind: 'output' | 'log', name: string) {
  const dataset = kind === 'log' ? running.task.logDataset : running.task.outputDataset;
  return { bucket: DATA_BUCKET, key: `${datasetTarget(dataset, DATA_BUCKET).prefix}/${name}` };
}

function outputOf(running: RunningJob, name: string): z.input<typeof OutputFile> {
  return outputFile(name, { location: placeOf(running, 'output', name) });
}

function logOf(running: RunningJob, attempt = running.job.attempt): z.input<typeof OutputFile> {
  const name = `${running.job.jobId}.${attempt}.log`;
  return outputFile(name, { kind: 'log', location: placeOf(running, 'log', name) });
}

function result(running: RunningJob, overrides: Partial<JobResultMessage> = {}): JobResultMessage {
  return {
    type: 'job.result',
    jobId: running.job.jobId,
    taskId: running.task.taskId,
    attempt: running.job.attempt,
    pilotId: 'pilot-a',
    claimToken: running.claimToken,
    at: NOW.toISOString(),
    outcome: 'DONE',
    errorCode: 0,
    exitCode: 0,
    outputs: [outputOf(running, `out-${running.job.jobId}.root`), logOf(running)] as OutputFile[],
    phaseTimes: { CLAIMED: NOW.toISOString(), EXECUTING: NOW.toISOString() },
    wallMs: 1200,
    ...overrides,
  };
}

function failure(running: RunningJob, errorCode: number, attempt = running.job.attempt): JobResultMessage {
  return result(running, {
    outcome: 'FAILED',
    errorCode,
    errorMessage: 'payload exited with 3',
    exitCode: 3,
    attempt,
    outputs: [logOf(running, attempt)] as OutputFile[],
  });
}

function announcedFiles(events: readonly PutEventsRequestEntry[]): string[] {
  return events.map((event) => {
    expect(event).toMatchObject({
      Source: 'spd.wms',
      DetailType: 'file.registered',
      EventBusName: 'wms-bus',
    });
    const detail = JSON.parse(event.Detail!) as { kind: string; file: { name: string } };
    return `${detail.kind}:${detail.file.name}`;
  });
}

async function fileNames(datasetName: string): Promise<string[]> {
  return (await fixture.repos.files.list(datasetUidFor(datasetName))).items.map((file) => file.name);
}

describe('applyPilotStatus: progress', () => {
  it('moves the phase forward only, and ignores a report of another attempt', async () => {
    const running = await runningJob();
    const progress = (phase: 'STAGE_IN' | 'EXECUTING', attempt = 0) =>
      applyPilotStatus(deps, {
        type: 'job.progress',
        jobId: running.job.jobId,
        taskId: running.task.taskId,
        attempt,
        pilotId: 'pilot-a',
        claimToken: running.claimToken,
        at: NOW.toISOString(),
        phase,
      });

    const executing = await progress('EXECUTING');
    const repeated = await progress('EXECUTING');
    const backwards = await progress('STAGE_IN');
    const stale = await progress('EXECUTING', 1);

    expect([executing, repeated, backwards]).toEqual([
      { kind: 'progress', advanced: true },
      { kind: 'progress', advanced: false },
      { kind: 'progress', advanced: false },
    ]);
    expect(stale.kind).toBe('ignored');
    expect(await fixture.repos.jobs.get(running.job.jobId)).toMatchObject({
      state: 'RUNNING',
      phase: 'EXECUTING',
    });
  });
});

describe('applyPilotStatus: DONE', () => {
  it('registers the outputs and the log once, completes the job and announces the files', async () => {
    const running = await runningJob();
    const done = result(running);

    const first = await applyPilotStatus(deps, done);
    const redelivered = await applyPilotStatus(deps, done);

    expect(first.kind).toBe('done');
    expect(announcedFiles((first as { events: PutEventsRequestEntry[] }).events).sort()).toEqual(
      [`log:${running.job.jobId}.0.log`, `output:out-${running.job.jobId}.root`].sort(),
    );
    expect(redelivered.kind).toBe('repeated');
    expect((redelivered as { events: PutEventsRequestEntry[] }).events).toHaveLength(2);
    expect(await fileNames(running.task.outputDataset)).toEqual([`out-${running.job.jobId}.root`]);
    expect(await fileNames(running.task.logDataset)).toEqual([`${running.job.jobId}.0.log`]);
    expect(await fixture.repos.datasets.get(datasetUidFor(running.task.outputDataset))).toMatchObject({
      kind: 'output',
      fileCount: 1,
      producerTaskId: running.task.taskId,
    });
    expect(await fixture.repos.jobs.get(running.job.jobId)).toMatchObject({ state: 'DONE', errorCode: 0 });
    expect((await fixture.repos.tasks.get(running.task.taskId)).counts).toMatchObject({
      RUNNING: 0,
      DONE: 1,
    });
  });

  it('fails the job when an output name is taken by another file, without completing it', async () => {
    const first = await runningJob();
    const second = await runningJob({
      outputDataset: first.task.outputDataset,
      logDataset: first.task.logDataset,
    });
    const clash = outputOf(first, 'shared-name.root');
    await applyPilotStatus(deps, result(first, { outputs: [clash] as OutputFile[] }));

    const outcome = await applyPilotStatus(
      deps,
      result(second, {
        outputs: [{ ...clash, checksum: `sha256:${'0'.repeat(64)}` }, logOf(second)] as OutputFile[],
      }),
    );

    expect(outcome).toMatchObject({ kind: 'failed', errorCode: ERRORS.STAGE_OUT_NAME_CONFLICT.code });
    expect((outcome as { reason: string }).reason).toContain(`shared-name.root is already registered`);
    expect(announcedFiles((outcome as { events: PutEventsRequestEntry[] }).events)).toEqual([
      `log:${second.job.jobId}.0.log`,
    ]);
    expect(await fixture.repos.jobs.get(second.job.jobId)).toMatchObject({
      state: 'FAILED',
      errorCode: ERRORS.STAGE_OUT_NAME_CONFLICT.code,
    });
    expect(await fileNames(second.task.logDataset)).toContain(`${second.job.jobId}.0.log`);
    expect((await fixture.repos.tasks.get(second.task.taskId)).counts).toMatchObject({
      RUNNING: 0,
      FAILED: 1,
    });
  });

  it('throws, leaving the job RUNNING, when the output dataset no longer takes files', async () => {
    const running = await runningJob();
    const output = await fixture.repos.datasets.create({
      uid: datasetUidFor(running.task.outputDataset),
      name: running.task.outputDataset,
      kind: 'output',
    });
    await fixture.repos.datasets.close(output.dataset.uid);

    await expect(applyPilotStatus(deps, result(running))).rejects.toBeInstanceOf(StateConflictError);
    expect((await fixture.repos.jobs.get(running.job.jobId)).state).toBe('RUNNING');
  });
});

describe('applyPilotStatus: FAILED', () => {
  it('retries a retryable failure with the next attempt and its backoff, keeping the log', async () => {
    const running = await runningJob({ maxRetries: 2 });

    const outcome = await applyPilotStatus(deps, failure(running, ERRORS.PAYLOAD_NONZERO_EXIT.code));

    expect(outcome).toMatchObject({
      kind: 'retried',
      nextAttempt: 1,
      retryAfter: '2025-06-01T12:00:10.000Z',
    });
    expect((await fixture.repos.jobs.get(running.job.jobId)).retryAfter).toBe('2025-06-01T12:00:10.000Z');
    expect(announcedFiles((outcome as { events: PutEventsRequestEntry[] }).events)).toEqual([
      `log:${running.job.jobId}.0.log`,
    ]);
    expect(await fixture.repos.jobs.get(running.job.jobId)).toMatchObject({
      state: 'READY',
      attempt: 1,
      errorCode: ERRORS.PAYLOAD_NONZERO_EXIT.code,
    });
    expect((await fixture.repos.tasks.get(running.task.taskId)).counts).toMatchObject({
      RUNNING: 0,
      READY: 1,
    });
  });

  it('changes nothing for a result of attempt 0 arriving after the retry to attempt 1', async () => {
    const running = await runningJob({ maxRetries: 2 });
    await applyPilotStatus(deps, failure(running, ERRORS.PAYLOAD_NONZERO_EXIT.code));
    const secondClaim = await claimAgain(await fixture.repos.jobs.get(running.job.jobId));
    const before = await fixture.repos.tasks.get(running.task.taskId);

    const lateDone = await applyPilotStatus(deps, result(running));
    const repeatedFailure = await applyPilotStatus(deps, failure(running, ERRORS.PAYLOAD_NONZERO_EXIT.code));

    expect(lateDone).toEqual({ kind: 'ignored', reason: 'attempt 0 is not the current attempt 1' });
    expect(repeatedFailure.kind).toBe('repeated');
    expect(await fixture.repos.jobs.get(running.job.jobId)).toMatchObject({
      state: 'RUNNING',
      attempt: 1,
      claimToken: secondClaim,
    });
    expect((await fixture.repos.tasks.get(running.task.taskId)).counts).toEqual(before.counts);
    expect(await fileNames(running.task.outputDataset)).toEqual([]);
  });

  it('fails a job whose error is not retryable, or whose retries are used up', async () => {
    const fatal = await runningJob({ maxRetries: 3 });
    const exhausted = await runningJob({ maxRetries: 0 });

    const fatalOutcome = await applyPilotStatus(
      deps,
      failure(fatal, ERRORS.PAYLOAD_EXECUTABLE_NOT_FOUND.code),
    );
    const exhaustedOutcome = await applyPilotStatus(
      deps,
      failure(exhausted, ERRORS.PAYLOAD_NONZERO_EXIT.code),
    );
    const redelivered = await applyPilotStatus(
      deps,
      failure(fatal, ERRORS.PAYLOAD_EXECUTABLE_NOT_FOUND.code),
    );

    expect(fatalOutcome).toMatchObject({ kind: 'failed', reason: 'not-retryable' });
    expect(exhaustedOutcome).toMatchObject({ kind: 'failed', reason: 'retries-exhausted' });
    expect(redelivered.kind).toBe('repeated');
    expect((await fixture.repos.tasks.get(fatal.task.taskId)).counts).toMatchObject({
      RUNNING: 0,
      FAILED: 1,
    });
    expect(await fileNames(fatal.task.logDataset)).toEqual([`${fatal.job.jobId}.0.log`]);
  });
});

describe('applyPilotStatus: cancelled task', () => {
  it('ends the job of a cancelled task CANCELLED, whatever it reports, keeping only its log', async () => {
    const done = await runningJob();
    const failed = await runningJob({ maxRetries: 5 });
    for (const running of [done, failed]) {
      await fixture.repos.tasks.transition({ taskId: running.task.taskId, from: 'RUNNING', to: 'CANCELLED' });
    }

    const doneOutcome = await applyPilotStatus(deps, result(done));
    const failedOutcome = await applyPilotStatus(deps, failure(failed, ERRORS.PAYLOAD_NONZERO_EXIT.code));

    expect(doneOutcome.kind).toBe('cancelled');
    expect(failedOutcome.kind).toBe('cancelled');
    expect((await fixture.repos.jobs.get(failed.job.jobId)).state).toBe('CANCELLED');
    expect((await fixture.repos.tasks.get(done.task.taskId)).counts).toMatchObject({
      RUNNING: 0,
      CANCELLED: 1,
    });
    expect(await fileNames(done.task.outputDataset)).toEqual([]);
    expect(await fileNames(done.task.logDataset)).toEqual([`${done.job.jobId}.0.log`]);
  });
});

describe('applyPilotStatus: foreign reports', () => {
  it('ignores a result carrying another claim token, or for a job that does not exist', async () => {
    const running = await runningJob();

    const foreign = await applyPilotStatus(deps, result(running, { claimToken: 'f'.repeat(32) }));
    const unknown = await applyPilotStatus(deps, result(running, { jobId: 'j-unknown' }));

    expect(foreign).toEqual({ kind: 'ignored', reason: 'the claim token does not match' });
    expect(unknown).toEqual({ kind: 'ignored', reason: 'job j-unknown does not exist' });
    expect((await fixture.repos.jobs.get(running.job.jobId)).state).toBe('RUNNING');
  });
});

describe('applyPilotStatus: AWS calls', () => {
  it('applies a DONE result in one transaction once its task is known, and reads the task once', async () => {
    // Prepare: two jobs of one task; a fresh cache, as a cold container has.
    const first = await runningJob();
    const [second] = planJobs(first.task, [fileRef(`in-second-${counter}.raw`)], { final: true }).jobs;
    await fixture.repos.jobs.createJobs(first.task, [second!]);
    const ref = { jobId: second!.jobId, taskId: first.task.taskId, attempt: 0 };
    await fixture.repos.jobs.markQueued([ref]);
    const claimToken = await fixture.repos.jobs.claim({ ...ref, pilotId: 'pilot-a' });
    const secondRunning = { task: first.task, job: await fixture.repos.jobs.get(ref.jobId), claimToken };
    const cold = { ...deps, taskSpecs: new TaskSpecCache() };
    fixture.calls.reset();

    // Act
    const outcomes = [
      await applyPilotStatus(cold, result(first)),
      await applyPilotStatus(cold, result(secondRunning)),
    ];

    // Assess
    expect(outcomes.map((outcome) => outcome.kind)).toEqual(['done', 'done']);
    expect(fixture.calls.snapshot()).toEqual([
      { service: 'DynamoDB', operation: 'GetItem', calls: 1 },
      // The first result also creates the output and log datasets (registration makes them).
      { service: 'DynamoDB', operation: 'PutItem', calls: 2 },
      { service: 'DynamoDB', operation: 'TransactWriteItems', calls: 3 },
    ]);
  });
});

describe('applyPilotStatus: cancelled task whose log dataset is closed', () => {
  it('still cancels the job, leaving out the log it can no longer keep', async () => {
    const running = await runningJob();
    await fixture.repos.tasks.transition({ taskId: running.task.taskId, from: 'RUNNING', to: 'CANCELLED' });
    const log = await fixture.repos.datasets.create({
      uid: datasetUidFor(running.task.logDataset),
      name: running.task.logDataset,
      kind: 'log',
    });
    await fixture.repos.datasets.close(log.dataset.uid);

    const outcome = await applyPilotStatus(deps, result(running));

    expect(outcome).toEqual({ kind: 'cancelled', events: [] });
    expect((await fixture.repos.jobs.get(running.job.jobId)).state).toBe('CANCELLED');
    expect(await fileNames(running.task.logDataset)).toEqual([]);
  });
});

describe('applyPilotStatus: files outside their job place', () => {
  /** Places a pilot might name instead of its job's: each must register nothing. */
  const foreignPlaces: [string, (running: RunningJob, name: string) => { bucket: string; key: string }][] = [
    ['a DSM input', (_, name) => ({ bucket: DATA_BUCKET, key: `datasets/raw-run42/${name}` })],
    [
      'another task output dataset',
      (_, name) => ({ bucket: DATA_BUCKET, key: `outputs/other-reco/${name}` }),
    ],
    ['another bucket', (running, name) => ({ ...placeOf(running, 'output', name), bucket: 'spd-elsewhere' })],
    [
      'a sub-folder of its dataset',
      (running, name) => ({ bucket: DATA_BUCKET, key: placeOf(running, 'output', `nested/${name}`).key }),
    ],
    ['another name in its dataset', (running) => placeOf(running, 'output', 'someone-else.root')],
  ];

  it.each(foreignPlaces)(
    'registers nothing from a DONE result naming %s, and retries the job',
    async (_, place) => {
      const running = await runningJob({ maxRetries: 2 });
      const name = `out-${running.job.jobId}.root`;
      const location = place(running, name);
      const refused = result(running, {
        outputs: [{ ...outputOf(running, name), location }, logOf(running)] as OutputFile[],
      });

      const outcome = await applyPilotStatus(deps, refused);
      const redelivered = await applyPilotStatus(deps, refused);

      const where = `s3://${location.bucket}/${location.key}`;
      expect(outcome).toMatchObject({ kind: 'retried', nextAttempt: 1, events: [] });
      expect((outcome as { refusal: string }).refusal).toContain(where);
      expect(redelivered).toMatchObject({
        kind: 'ignored',
        refusal: (outcome as { refusal: string }).refusal,
      });
      const job = await fixture.repos.jobs.get(running.job.jobId);
      expect(job).toMatchObject({
        state: 'READY',
        attempt: 1,
        errorCode: ERRORS.STAGE_OUT_LOCATION_REFUSED.code,
      });
      expect(job.errorMessage).toContain(`output "${name}" is at ${where}`);
      for (const dataset of [running.task.outputDataset, running.task.logDataset]) {
        expect(await fileNames(dataset)).toEqual([]);
        expect(await fixture.repos.datasets.find(datasetUidFor(dataset))).toBeUndefined();
      }
      expect((await fixture.repos.tasks.get(running.task.taskId)).counts).toMatchObject({
        RUNNING: 0,
        READY: 1,
        DONE: 0,
      });
    },
  );

  it('refuses a failure whose log is not in its place, keeping the pilot error in the message', async () => {
    const running = await runningJob({ maxRetries: 0 });
    const log = { ...logOf(running), location: { bucket: DATA_BUCKET, key: 'datasets/raw-run42/x.log' } };
    const refused = {
      ...failure(running, ERRORS.PAYLOAD_NONZERO_EXIT.code),
      outputs: [log] as OutputFile[],
    };

    const outcome = await applyPilotStatus(deps, refused);
    const redelivered = await applyPilotStatus(deps, refused);

    expect(outcome).toMatchObject({
      kind: 'failed',
      errorCode: ERRORS.STAGE_OUT_LOCATION_REFUSED.code,
      reason: 'retries-exhausted',
      events: [],
    });
    expect(redelivered).toMatchObject({ kind: 'ignored', reason: 'the result was refused before' });
    const job = await fixture.repos.jobs.get(running.job.jobId);
    expect(job).toMatchObject({ state: 'FAILED', errorCode: ERRORS.STAGE_OUT_LOCATION_REFUSED.code });
    expect(job.errorMessage).toContain('s3://spd-data/datasets/raw-run42/x.log');
    expect(job.errorMessage).toContain(`the pilot reported error ${ERRORS.PAYLOAD_NONZERO_EXIT.code}`);
    expect(await fileNames(running.task.logDataset)).toEqual([]);
  });

  it('cancels the job of a cancelled task without keeping a log that is not in its place', async () => {
    const running = await runningJob();
    await fixture.repos.tasks.transition({ taskId: running.task.taskId, from: 'RUNNING', to: 'CANCELLED' });
    const log = { ...logOf(running), location: { bucket: 'spd-elsewhere', key: 'x.log' } };

    const outcome = await applyPilotStatus(deps, result(running, { outputs: [log] as OutputFile[] }));

    expect(outcome).toMatchObject({ kind: 'cancelled', events: [] });
    expect((outcome as { refusal: string }).refusal).toContain('s3://spd-elsewhere/x.log');
    expect((await fixture.repos.jobs.get(running.job.jobId)).state).toBe('CANCELLED');
    expect(await fileNames(running.task.logDataset)).toEqual([]);
  });
});
