/**
 * What the WfMS or an operator does to a running task: cancel it (its payloads killed within
 * 10 s, its output dataset closed with what was produced) and change its rank (the dispatch
 * shares follow).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datasetUidFor } from '../../shared/ids/index.js';
import { eventually } from '../support/index.js';
import {
  announceInOrder,
  expectNothingLost,
  inputFiles,
  type JobItem,
  livePayloadProcesses,
  POLL_MS,
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

/** design §8: a cancelled job's payload is gone within 10 s of the cancel. */
const KILL_DEADLINE_MS = 10_000;

/** Jobs grouped by dispatch pass (one queuedAt each), in dispatch order. */
function dispatchPasses(jobs: readonly JobItem[]): JobItem[][] {
  const passes = new Map<string, JobItem[]>();
  for (const job of jobs) passes.set(job.queuedAt!, [...(passes.get(job.queuedAt!) ?? []), job]);
  return [...passes.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, pass]) => pass);
}

describe('commands to a running task', () => {
  let system: System;
  let wms: WmsApi;

  beforeAll(async () => {
    system = await startSystem({
      name: 'task-commands',
      tunables: {
        DATASET_CLOSE_BASE_SECONDS: '1',
        DATASET_CLOSE_MAX_SECONDS: '2',
        POWERTOOLS_LOG_LEVEL: 'WARN',
      },
      scheduleScale: 0.05,
    });
    wms = wmsApi(system.api);
  });
  afterAll(() => system?.stop());

  it('a task cancelled mid-run: its payloads are killed within 10 s and its output dataset closes with exactly what was produced', async () => {
    // Prepare: every job runs at once; the fast ones finish, the slow ones would take minutes,
    // ignore SIGTERM and keep a child process in their group.
    const files = new Map([...inputFiles(2, 'fast'), ...inputFiles(4, 'slow')]);
    const input = await storeInputDataset(system, files);
    const pilot = system.startPilot({ name: 'cancel-node', slots: files.size });
    const spec = workerTask(system, {
      name: 'cancelled',
      inputDatasetUid: input.uid,
      worker: {
        sleepMs: 300_000,
        sleepIfNameHas: 'slow',
        recordPid: true,
        ignoreSigterm: true,
        withChild: true,
      },
    });
    const taskId = await wms.registerTask(spec);
    await announceInOrder(system, input);
    const slowJobs = await eventually(
      async () => {
        const task = await wms.task(taskId);
        expect(task.counts).toMatchObject({ DONE: 2, RUNNING: 4 });
        const running = await wms.jobs(taskId, 'RUNNING');
        const started = startedPayloads(system.pidDir).filter((payload) =>
          running.some((job) => job.jobId === payload.jobId),
        );
        expect(started).toHaveLength(running.length);
        return { running, started };
      },
      { timeoutMs: 60_000, intervalMs: POLL_MS },
    );
    expect(slowJobs.running.map((job) => job.inputs[0]!.name).sort()).toEqual(
      [...files.keys()].filter((name) => name.startsWith('slow')),
    );
    const doneJobs = await wms.jobs(taskId, 'DONE');

    // Act
    const cancelledAt = Date.now();
    const summary = await wms.cancel(taskId, 'e2e: cancelled mid-run');

    // Assess
    expect(summary.state).toBe('CANCELLED');
    const alive = (payloads: readonly StartedPayload[]) => payloads.flatMap(livePayloadProcesses);
    await eventually(() => expect(alive(slowJobs.started)).toEqual([]), {
      timeoutMs: KILL_DEADLINE_MS,
      intervalMs: 100,
    });
    const killedWithinMs = Date.now() - cancelledAt;
    expect(killedWithinMs).toBeLessThanOrEqual(KILL_DEADLINE_MS);
    console.log(
      `cancel: the payloads of ${slowJobs.started.length} running jobs were gone ${killedWithinMs} ms after it`,
    );

    const outputUid = datasetUidFor(spec.outputDataset);
    const [output, log] = await eventually(
      async () => {
        const datasets = [await wms.dataset(outputUid), await wms.dataset(datasetUidFor(spec.logDataset))];
        expect(datasets.map((dataset) => dataset.state)).toEqual(['CLOSED', 'CLOSED']);
        return datasets;
      },
      { timeoutMs: 30_000, intervalMs: POLL_MS },
    );
    const produced = doneJobs.map((job) => `${job.inputs[0]!.name}.out`).sort();
    expect(produced).toEqual(
      [...files.keys()].filter((name) => name.startsWith('fast')).map((name) => `${name}.out`),
    );
    expect(output!.fileCount).toBe(produced.length);
    const outputs = await wms.files(taskId, 'output');
    expect(outputs.map((file) => [file.name, file.datasetUid]).sort()).toEqual(
      produced.map((name) => [name, outputUid]),
    );
    const logs = (await wms.files(taskId, 'log')).map((file) => file.name);
    expect(log!.fileCount).toBe(logs.length);
    // The finished jobs' logs and the killed attempts' logs: the datasets close after the kills report.
    expect(logs.sort()).toEqual([...doneJobs, ...slowJobs.running].map((job) => `${job.jobId}.0.log`).sort());

    const jobs = await wms.jobs(taskId);
    expect(jobs.map((job) => [job.inputs[0]!.name, job.state]).sort()).toEqual(
      [...files.keys()].map((name) => [name, name.startsWith('fast') ? 'DONE' : 'CANCELLED']),
    );
    // The killed attempts still report; let the pilot settle before storage is compared.
    await eventually(
      async () => {
        const pilots = await wms.pilots();
        expect(pilots.find((p) => p.pilotId === slowJobs.running[0]!.pilotId)?.busySlots).toBe(0);
      },
      { timeoutMs: 30_000, intervalMs: POLL_MS },
    );
    await sleep(Math.max(0, cancelledAt + KILL_DEADLINE_MS - Date.now()));
    expect(alive(slowJobs.started), `payload processes ${KILL_DEADLINE_MS} ms after the cancel`).toEqual([]);
    await expectNothingLost(system, [taskId]);
    await pilot.stop();
  });

  it('a rank change mid-run: dispatch shares follow the new ranks', async () => {
    // Prepare: two tasks over the same twelve files, ranks 1 and 3, sharing four slots.
    const windowSize = 8;
    const files = inputFiles(12, 'ranked');
    const input = await storeInputDataset(system, files);
    const worker = { sleepMs: 500 };
    const lowFirst = await wms.registerTask(
      workerTask(system, { name: 'low-first', inputDatasetUid: input.uid, rank: 1, worker }),
    );
    const highFirst = await wms.registerTask(
      workerTask(system, { name: 'high-first', inputDatasetUid: input.uid, rank: 3, worker }),
    );
    await announceInOrder(system, input);
    await eventually(
      async () => {
        for (const taskId of [lowFirst, highFirst]) {
          const task = await wms.task(taskId);
          expect(task.jobsTotal).toBe(files.size);
          expect(task.counts.READY).toBe(files.size);
        }
      },
      { timeoutMs: 30_000, intervalMs: POLL_MS },
    );
    system.startPilot({ name: 'rank-node', slots: 4 });
    const dispatched = async () =>
      [...(await wms.jobs(lowFirst)), ...(await wms.jobs(highFirst))].filter(
        (job) => job.queuedAt !== undefined,
      );
    await eventually(async () => expect((await dispatched()).length).toBeGreaterThanOrEqual(windowSize), {
      timeoutMs: 60_000,
      intervalMs: POLL_MS,
    });

    // Act
    const changeStartedAt = new Date().toISOString();
    await wms.setRank(lowFirst, 3);
    await wms.setRank(highFirst, 1);
    const changeAppliedAt = new Date().toISOString();
    await Promise.all([taskEnd(wms, lowFirst, 120_000), taskEnd(wms, highFirst, 120_000)]);

    // Assess: the jobs of one dispatch pass share its queuedAt, so windows are whole passes.
    const jobs = await dispatched();
    const before = jobs.filter((job) => job.queuedAt! < changeStartedAt);
    const after: JobItem[] = [];
    for (const pass of dispatchPasses(jobs.filter((job) => job.queuedAt! > changeAppliedAt))) {
      if (after.length >= windowSize) break;
      after.push(...pass);
    }
    const share = (dispatches: readonly JobItem[], taskId: string) =>
      dispatches.filter((job) => job.taskId === taskId).length / dispatches.length;
    console.log(
      `rank change: ${before.length} dispatches before it, ${share(before, highFirst).toFixed(2)} to the rank-3 task; ` +
        `${after.length} after it, ${share(after, lowFirst).toFixed(2)} to the task raised to rank 3`,
    );
    expect(before.length).toBeGreaterThanOrEqual(windowSize);
    expect(after.length).toBeGreaterThanOrEqual(windowSize);
    // Rank 3 against rank 1 is 3 dispatches in 4; equal ranks would be 1 in 2. Nobody starves.
    expect(share(before, highFirst)).toBeGreaterThanOrEqual(0.6);
    expect(share(before, lowFirst)).toBeGreaterThan(0);
    expect(share(after, lowFirst)).toBeGreaterThanOrEqual(0.6);
    expect(share(after, highFirst)).toBeGreaterThan(0);
    await expectNothingLost(system, [lowFirst, highFirst]);
  });
});
