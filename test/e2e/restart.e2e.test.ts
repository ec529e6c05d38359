/**
 * The control plane killed outright (SIGKILL) in the middle of a run while its pilots keep
 * running, then started again on the same endpoint, prefix and API port: it finds its
 * resources and the stream checkpoints in the emulator and carries on, and the run ends as if
 * nothing happened.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/index.js';
import { type RestartableSystem, startRestartableSystem } from './support/control-plane-process.js';
import {
  announceInOrder,
  expectNothingLost,
  inputFiles,
  POLL_MS,
  storeInputDataset,
  taskEnd,
  type WmsApi,
  wmsApi,
  workerTask,
} from './support/index.js';

const HEARTBEAT_SECONDS = 2;
const JOBS = 24;
/** The control plane stays down this long while the pilots go on. */
const DOWNTIME_MS = 3_000;

describe('the control plane killed mid-run and started again', () => {
  let system: RestartableSystem;
  let wms: WmsApi;

  beforeAll(async () => {
    system = await startRestartableSystem({
      name: 'restart',
      tunables: {
        HEARTBEAT_INTERVAL_SECONDS: String(HEARTBEAT_SECONDS),
        // Production's: pilots whose heartbeats the absent control plane could not take are
        // declared lost only after this long (by default three heartbeats, 6 s here, shorter
        // than a restart of the control plane on a loaded machine).
        PILOT_LOST_AFTER_SECONDS: '90',
        // A dispatch pass killed between marking jobs QUEUED and sending their messages leaves
        // them to the watchdog, which re-queues them after this long (production: 300 s).
        QUEUED_STUCK_AFTER_SECONDS: '10',
        POWERTOOLS_LOG_LEVEL: 'WARN',
      },
      // The watchdog and the dispatch schedule every 3 s.
      scheduleScale: 0.05,
    });
    wms = wmsApi(system.api);
  });
  afterAll(() => system?.stop());

  // Longer than the project's limit: a dispatch pass the kill interrupted holds its lease until
  // the dispatcher's timeout, and the jobs it marked QUEUED wait for the watchdog's re-queue.
  it('loses nothing: every job DONE once, each output registered once, the audit clean', async () => {
    // Prepare
    const files = inputFiles(JOBS, 'restart');
    const input = await storeInputDataset(system, files);
    for (const name of ['restart-a', 'restart-b']) {
      system.startPilot({ name, slots: 3, heartbeatIntervalSeconds: HEARTBEAT_SECONDS });
    }
    const taskId = await wms.registerTask(
      workerTask(system, {
        name: 'restart',
        inputDatasetUid: input.uid,
        worker: { sleepMs: 2_000 },
        // A job that failed because the control plane was away would end FAILED, not retried.
        maxRetries: 0,
      }),
    );
    await announceInOrder(system, input);
    const doneBeforeKill = await eventually(
      async () => {
        const done = (await wms.task(taskId)).counts.DONE;
        expect(done).toBeGreaterThanOrEqual(JOBS / 4);
        return done;
      },
      { timeoutMs: 120_000, intervalMs: POLL_MS },
    );
    expect(doneBeforeKill, 'the run was still going when the control plane was killed').toBeLessThan(JOBS);

    // Act
    const killedPid = system.controlPlanePid();
    await system.killControlPlane();
    await new Promise((resolve) => setTimeout(resolve, DOWNTIME_MS));
    const restartedAt = Date.now();
    await system.startControlPlane();
    const servingAfterMs = Date.now() - restartedAt;
    expect(system.controlPlanePid()).not.toBe(killedPid);
    await eventually(
      async () => expect((await wms.task(taskId)).counts.DONE).toBeGreaterThan(doneBeforeKill),
      { timeoutMs: 120_000, intervalMs: POLL_MS },
    );
    const progressAfterMs = Date.now() - restartedAt;
    const task = await taskEnd(wms, taskId, 180_000);
    const completedAfterMs = Date.now() - restartedAt;

    // Assess
    expect(task.state).toBe('DONE');
    expect(task.counts).toMatchObject({ DONE: JOBS, FAILED: 0, LOST: 0, RUNNING: 0, QUEUED: 0, READY: 0 });
    const jobs = await wms.jobs(taskId);
    expect(jobs).toHaveLength(JOBS);
    expect(jobs.filter((job) => job.state === 'DONE' && job.attempt === 0)).toHaveLength(JOBS);
    const outputs = (await wms.files(taskId, 'output')).map((file) => file.name).sort();
    expect(outputs).toEqual([...files.keys()].map((name) => `${name}.out`).sort());
    await expectNothingLost(system, [taskId]);
    console.log(
      `restart: killed with ${doneBeforeKill}/${JOBS} jobs DONE, down ${DOWNTIME_MS / 1000} s; after the restart ` +
        `the API served in ${(servingAfterMs / 1000).toFixed(1)} s, the first job progressed in ` +
        `${(progressAfterMs / 1000).toFixed(1)} s, the run completed in ${(completedAfterMs / 1000).toFixed(1)} s`,
    );
  }, 360_000);
});
