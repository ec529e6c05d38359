/**
 * Jobs that fail: payloads failing at random, retried until the rule they follow says they
 * succeed or fail for good; and a pilot killed outright, whose jobs are declared LOST and
 * finished by another pilot.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERRORS } from '../../shared/errors/index.js';
import { eventually } from '../support/index.js';
import { attemptOutcome } from './payloads/attempt-outcome.mjs';
import {
  announceInOrder,
  expectNothingLost,
  inputFiles,
  POLL_MS,
  pilotAwsCalls,
  type StartedPayload,
  type System,
  startedPayloads,
  startSystem,
  storeInputDataset,
  taskEnd,
  type WmsApi,
  wmsApi,
  workerTask,
} from './support/index.js';

const HEARTBEAT_SECONDS = 2;
const PILOT_LOST_AFTER_SECONDS = 10;

interface JobPrediction {
  state: 'DONE' | 'FAILED';
  /** The attempt the job ends at. */
  attempt: number;
  errorCode: number;
}

/**
 * How a job over `name` ends by the payload's rule: attempts fail independently; a plain
 * failure is retried up to `maxRetries` times, a failure without output (not retryable) never.
 */
function predictJob(seed: string, name: string, failRate: number, maxRetries: number): JobPrediction {
  for (let attempt = 0; ; attempt++) {
    const outcome = attemptOutcome({ seed, name, attempt, failRate });
    if (outcome === 'ok') return { state: 'DONE', attempt, errorCode: ERRORS.OK.code };
    if (outcome === 'fatal')
      return { state: 'FAILED', attempt, errorCode: ERRORS.PAYLOAD_OUTPUT_MISSING.code };
    if (attempt === maxRetries)
      return { state: 'FAILED', attempt, errorCode: ERRORS.PAYLOAD_NONZERO_EXIT.code };
  }
}

/** The kinds of ending a scenario must show, so that each is exercised. */
function endingKind(prediction: JobPrediction): string {
  if (prediction.state === 'DONE') return prediction.attempt === 0 ? 'done-at-once' : 'done-after-retries';
  return prediction.errorCode === ERRORS.PAYLOAD_NONZERO_EXIT.code ? 'retries-exhausted' : 'not-retryable';
}

/** The first seed whose predictions show every kind of ending. */
function seedWithEveryEnding(names: readonly string[], failRate: number, maxRetries: number): string {
  for (let index = 0; index < 10_000; index++) {
    const seed = `seed-${index}`;
    const kinds = new Set(names.map((name) => endingKind(predictJob(seed, name, failRate, maxRetries))));
    if (kinds.size === 4) return seed;
  }
  throw new Error('no seed shows every kind of ending');
}

describe('jobs that fail', () => {
  let system: System;
  let wms: WmsApi;

  beforeAll(async () => {
    system = await startSystem({
      name: 'job-faults',
      tunables: {
        HEARTBEAT_INTERVAL_SECONDS: String(HEARTBEAT_SECONDS),
        PILOT_LOST_AFTER_SECONDS: String(PILOT_LOST_AFTER_SECONDS),
        JOB_RETRY_BASE_SECONDS: '1',
        JOB_RETRY_MAX_SECONDS: '2',
        DATASET_CLOSE_BASE_SECONDS: '1',
        DATASET_CLOSE_MAX_SECONDS: '2',
        POWERTOOLS_LOG_LEVEL: 'WARN',
      },
      // The watchdog and the dispatch schedule every 3 s.
      scheduleScale: 0.05,
    });
    wms = wmsApi(system.api);
  });
  afterAll(() => system?.stop());

  it('payloads failing at random (30%) are retried, and every job ends as the failure rule predicts', async () => {
    // Prepare
    const failRate = 0.3;
    const maxRetries = 2;
    const failureTolerance = 0.5;
    const files = inputFiles(16, 'random');
    const names = [...files.keys()];
    const seed = seedWithEveryEnding(names, failRate, maxRetries);
    const expected = names.map((name) => ({ input: name, ...predictJob(seed, name, failRate, maxRetries) }));
    const input = await storeInputDataset(system, files);
    const pilots = [
      system.startPilot({ name: 'random-a', slots: 4, heartbeatIntervalSeconds: HEARTBEAT_SECONDS }),
      system.startPilot({ name: 'random-b', slots: 4, heartbeatIntervalSeconds: HEARTBEAT_SECONDS }),
    ];
    const taskId = await wms.registerTask(
      workerTask(system, {
        name: 'random-failures',
        inputDatasetUid: input.uid,
        worker: { failRate, seed },
        maxRetries,
        failureTolerance,
      }),
    );

    // Act
    await announceInOrder(system, input);
    const task = await taskEnd(wms, taskId, 120_000);

    // Assess
    const jobs = await wms.jobs(taskId);
    const endings = jobs.map((job) => ({
      input: job.inputs[0]!.name,
      state: job.state,
      attempt: job.attempt,
      errorCode: job.errorCode,
    }));
    expect(endings.sort((a, b) => a.input.localeCompare(b.input))).toEqual(expected);
    const done = expected.filter((job) => job.state === 'DONE').length;
    const failed = expected.length - done;
    expect(task.counts).toMatchObject({
      DONE: done,
      FAILED: failed,
      READY: 0,
      QUEUED: 0,
      RUNNING: 0,
      LOST: 0,
    });
    expect(task.state).toBe(failed / expected.length > failureTolerance ? 'FAILED' : 'DONE');
    // Every attempt that ran left its log; only the jobs that succeeded left an output.
    const logs = (await wms.files(taskId, 'log')).map((file) => file.name).sort();
    expect(logs).toEqual(
      jobs
        .flatMap((job) =>
          Array.from({ length: job.attempt + 1 }, (_, attempt) => `${job.jobId}.${attempt}.log`),
        )
        .sort(),
    );
    const outputs = (await wms.files(taskId, 'output')).map((file) => file.name).sort();
    expect(outputs).toEqual(expected.filter((job) => job.state === 'DONE').map((job) => `${job.input}.out`));
    await expectNothingLost(system, [taskId]);

    // The pilots' share of the AWS calls: their SDK calls and their API requests (the first
    // pilots of this control plane, so every API request but the suite's is theirs).
    await Promise.all(pilots.map((pilot) => pilot.stop()));
    const sdkCalls = pilots
      .flatMap((pilot) => pilotAwsCalls(system.logDir, pilot.name))
      .reduce((sum, entry) => sum + entry.calls, 0);
    const apiRequests = system.plane.runtime.stats().api!.requests - system.suiteApiRequests();
    const attempts = jobs.reduce((sum, job) => sum + job.attempt + 1, 0);
    console.log(
      `random failures: ${jobs.length} jobs, ${attempts} attempts; pilots: ${sdkCalls} SDK calls + ` +
        `${apiRequests} API requests = ${((sdkCalls + apiRequests) / attempts).toFixed(2)} AWS calls per attempt ` +
        '(registration, heartbeats and idle polling included)',
    );
  });

  it('a pilot SIGKILLed mid-run: its jobs are declared LOST, then completed by another pilot', async () => {
    // Prepare
    const files = inputFiles(4, 'lost');
    const input = await storeInputDataset(system, files);
    const doomed = system.startPilot({
      name: 'doomed',
      slots: 4,
      heartbeatIntervalSeconds: HEARTBEAT_SECONDS,
    });
    const doomedId = await doomed.registered();
    const taskId = await wms.registerTask(
      workerTask(system, {
        name: 'lost-pilot',
        inputDatasetUid: input.uid,
        worker: { sleepMs: 5_000, recordPid: true },
        maxRetries: 2,
      }),
    );
    await announceInOrder(system, input);
    const running = await eventually(
      async () => {
        const jobs = await wms.jobs(taskId, 'RUNNING');
        expect(jobs).toHaveLength(files.size);
        expect(new Set(jobs.map((job) => job.pilotId))).toEqual(new Set([doomedId]));
        const started = startedPayloads(system.pidDir).filter((payload) =>
          jobs.some((job) => job.jobId === payload.jobId),
        );
        expect(started).toHaveLength(files.size);
        return jobs;
      },
      { timeoutMs: 60_000, intervalMs: POLL_MS },
    );

    // Act
    doomed.kill('SIGKILL');
    await doomed.exited;
    const rescuer = system.startPilot({
      name: 'rescuer',
      slots: 4,
      heartbeatIntervalSeconds: HEARTBEAT_SECONDS,
    });
    const rescuerId = await rescuer.registered();
    const seenLost = new Set<string>();
    const task = await eventually(
      async () => {
        for (const job of await wms.jobs(taskId)) {
          if (job.attempt === 1 && job.errorCode === ERRORS.LOST_HEARTBEAT.code) seenLost.add(job.jobId);
        }
        const current = await wms.task(taskId);
        expect(current.state).toBe('DONE');
        return current;
      },
      { timeoutMs: 90_000, intervalMs: POLL_MS },
    );

    // Assess
    const pilots = await wms.pilots();
    expect(pilots.find((pilot) => pilot.pilotId === doomedId)?.state).toBe('LOST');
    expect(task.counts).toMatchObject({ DONE: files.size, FAILED: 0, LOST: 0 });
    const jobs = await wms.jobs(taskId);
    expect(jobs.map((job) => [job.jobId, job.state, job.attempt, job.pilotId]).sort()).toEqual(
      running.map((job) => [job.jobId, 'DONE', 1, rescuerId]).sort(),
    );
    // Each job was seen at attempt 1 with the LOST_HEARTBEAT code before it ended DONE elsewhere.
    expect([...seenLost].sort()).toEqual(running.map((job) => job.jobId).sort());
    const ran = (payload: StartedPayload) => `${payload.jobId}.${payload.attempt}`;
    expect(
      startedPayloads(system.pidDir)
        .filter((payload) => running.some((job) => job.jobId === payload.jobId))
        .map(ran)
        .sort(),
    ).toEqual(running.flatMap((job) => [`${job.jobId}.0`, `${job.jobId}.1`]).sort());
    // The lost attempts never reported: only the attempts that finished left a log.
    const logs = (await wms.files(taskId, 'log')).map((file) => file.name).sort();
    expect(logs).toEqual(running.map((job) => `${job.jobId}.1.log`).sort());
    await expectNothingLost(system, [taskId]);
  });
});
