/**
 * Pilot processes against the real control plane, through faults that come from the system
 * itself: the API or the queues cut off by a proxy, a pilot marked LOST, signals to the pilot,
 * the watchdog. Its set-up, shared with pilot.int.test.ts, is pilot/test-support/plane-suite.ts.
 */
import { readdir } from 'node:fs/promises';
import { ChangeMessageVisibilityCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { awsClients } from '../../shared/aws/index.js';
import { eventually } from '../../test/support/index.js';
import { sha256Of } from '../test-support/factories.js';
import type { PlanePilot } from '../test-support/plane-pilots.js';
import {
  FIRST_ATTEMPT_HANGS,
  fleet,
  inputFiles,
  jobLog,
  jobsCpu,
  pilotState,
  plane,
  registerTask,
  repos,
  UPPER,
  usePilotPlane,
  wms,
} from '../test-support/plane-suite.js';
import {
  announceDataset,
  holdSlots,
  shellTask,
  takeJobMessage,
  waitForTask,
} from '../test-support/plane-tasks.js';
import { liveGroupMembers, residentBytes } from '../test-support/processes.js';
import { SwitchableProxy } from '../test-support/proxy.js';
import { getObjectBytes } from '../test-support/storage.js';

const { s3, sqs } = awsClients();
usePilotPlane();

describe('pilots on the control plane, through faults', () => {
  it('on SIGTERM returns the message it could not claim while the API was unreachable, returns its running job, and exits 0; another pilot runs both', async () => {
    // Prepare: a job queued while a registration held the slots, its message kept aside.
    const input = await announceDataset(plane, s3, { 'both.raw': 'both\n' });
    const unclaimed = await registerTask(shellTask(input, UPPER), 1);
    const holder = await holdSlots(plane, 'CPU', 1);
    const { message: kept, job: keptJob } = await takeJobMessage(sqs, jobsCpu, unclaimed);
    await holder.release();
    // A pilot reaching the API through a proxy, running a job that does not end.
    const apiUrl = new URL(plane.apiUrl);
    const proxy = new SwitchableProxy(Number(apiUrl.port));
    await proxy.up();
    try {
      const running = await registerTask(shellTask(input, FIRST_ATTEMPT_HANGS, { maxRetries: 1 }), 1);
      const pilot = await fleet.start({
        name: 'sigterm',
        slots: 2,
        apiUrl: plane.apiUrl.replace(apiUrl.origin, proxy.endpoint),
      });
      await pilot.waitFor('payload started', { taskId: running });
      // The API cut off, the kept message comes: its claim is retried.
      await proxy.down();
      await sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: jobsCpu,
          ReceiptHandle: kept.ReceiptHandle,
          VisibilityTimeout: 0,
        }),
      );
      const unclaimedJob = keptJob.jobId;
      await pilot.waitFor('control plane unreachable; claim retried', { jobId: unclaimedJob });

      // Act: the stop comes while the claim is being retried; the API is back for the exit.
      const signalledAt = Date.now();
      pilot.process.kill('SIGTERM');
      await pilot.waitFor('pilot stopping', { reason: 'signal' });
      await proxy.up();
      const exit = await pilot.process.exit();
      const stopMs = Date.now() - signalledAt;
      const rescuer = await fleet.start({ name: 'after-sigterm', slots: 2 });
      await Promise.all([waitForTask(wms, running, 'DONE'), waitForTask(wms, unclaimed, 'DONE')]);

      // Assess
      expect(exit).toEqual({ code: 0, signal: null });
      expect(stopMs).toBeLessThan(10_000);
      const [runningJob] = await wms.jobs(running);
      expect(pilot.linesOf('job finished')).toMatchObject([
        { jobId: runningJob!.jobId, attempt: 0, errorName: 'PILOT_SHUTDOWN' },
      ]);
      expect(pilot.claimedJobs()).toEqual([runningJob!.jobId]);
      expect(await jobLog(running, runningJob!.jobId, 0)).toContain('PILOT_SHUTDOWN');
      const rescuerId = await rescuer.pilotId();
      expect(runningJob).toMatchObject({ state: 'DONE', attempt: 1, pilotId: rescuerId });
      // Returned, not waited out: its visibility timeout (120 s) is longer than this test.
      expect((await wms.jobs(unclaimed))[0]).toMatchObject({
        jobId: unclaimedJob,
        state: 'DONE',
        attempt: 0,
        pilotId: rescuerId,
      });
      expect(await pilotState(await pilot.pilotId())).toBe('EXITED');
      rescuer.process.kill('SIGTERM');
      expect(await rescuer.process.exit()).toEqual({ code: 0, signal: null });
    } finally {
      await proxy.down();
    }
  });

  it('keeps a result while the queues are unreachable for 20 s, reporting its job meanwhile, and delivers it afterwards', async () => {
    // Prepare: a pilot reaching SQS through a proxy (the API and S3 directly).
    const emulator = new URL(process.env.AWS_ENDPOINT_URL!);
    const proxy = new SwitchableProxy(Number(emulator.port));
    await proxy.up();
    try {
      const input = await announceDataset(plane, s3, { 'late.raw': 'late result\n' });
      const taskId = await registerTask(shellTask(input, `sleep 5; ${UPPER}`), 1);
      const pilot = await fleet.start({ name: 'outage', slots: 1, sqsEndpoint: proxy.endpoint });
      await pilot.waitFor('payload started', { taskId });

      // Act: cut off while the payload runs (5 s: room for a slow test process to react), for 20 s.
      await proxy.down();
      const cutAt = Date.now();
      await pilot.waitFor('job finished', { outcome: 'DONE' });
      await pilot.waitFor('status queue unreachable; retrying');
      // Its heartbeats once idle (the API is reachable) still answer for the job whose result waits.
      const pilotId = await pilot.pilotId();
      const [waiting] = await wms.jobs(taskId);
      await eventually(
        async () =>
          expect(await repos.pilots.get(pilotId)).toMatchObject({
            state: 'IDLE',
            reportedJobs: [{ jobId: waiting!.jobId, attempt: 0 }],
          }),
        { timeoutMs: 5_000 },
      );
      const spooled = await readdir(pilot.spoolDir);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 20_000 - (Date.now() - cutAt))));
      const stillRunning = (await wms.jobs(taskId))[0];
      await proxy.up();
      const done = await waitForTask(wms, taskId, 'DONE');

      // Assess: held in the spool through the outage, applied after it, then removed.
      expect(spooled).toHaveLength(1);
      expect(stillRunning).toMatchObject({ state: 'RUNNING' });
      expect(done.counts.DONE).toBe(1);
      const [output] = await wms.files(taskId, 'output');
      const stored = await getObjectBytes(s3, output!.location.bucket, output!.location.key);
      expect([output!.name, stored.toString(), output!.checksum]).toEqual([
        'late.raw.upper',
        'LATE RESULT\n',
        sha256Of(stored),
      ]);
      await eventually(async () => expect(await readdir(pilot.spoolDir)).toEqual([]), { timeoutMs: 10_000 });
      // Its memory once idle, as the release runs.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      console.log(
        `idle pilot (release bundle) resident memory: ${(residentBytes(pilot.process.pid) / 2 ** 20).toFixed(1)} MiB`,
      );
      pilot.process.kill('SIGTERM');
      expect(await pilot.process.exit()).toEqual({ code: 0, signal: null });
    } finally {
      await proxy.down();
    }
  });

  it('a claim refused because the pilot was marked LOST (409 PILOT_NOT_LIVE) returns the message, and the pilot exits 3', async () => {
    // Prepare: a pilot with a long heartbeat interval, marked LOST before any job comes.
    const pilot = await fleet.start({
      name: 'not-live',
      slots: 1,
      settings: { heartbeatIntervalSeconds: 3600 },
    });
    const pilotId = await pilot.pilotId();
    const registered = await repos.pilots.get(pilotId);
    await repos.pilots.transition({ pilotId, from: registered.state, to: 'LOST' });
    const input = await announceDataset(plane, s3, { 'returned.raw': 'returned\n' });
    const taskId = await registerTask(shellTask(input, UPPER), 1);
    const [job] = await wms.jobs(taskId);

    // Act: a registration holds a slot, so the dispatcher queues the job; the LOST pilot gets it.
    const holder = await holdSlots(plane, 'CPU', 1);
    const exit = await pilot.process.exit(30_000);
    await holder.release();
    const rescuer = await fleet.start({ name: 'after-not-live', slots: 1 });
    await waitForTask(wms, taskId, 'DONE');

    // Assess: refused at the claim, not by a heartbeat; the message came back for another pilot.
    expect(exit).toEqual({ code: 3, signal: null });
    expect(pilot.linesOf('claim refused: this pilot is no longer live')).toMatchObject([
      { jobId: job!.jobId },
    ]);
    expect(pilot.linesOf('control plane declared this pilot LOST; dropping its jobs')).toEqual([]);
    expect(pilot.claimedJobs()).toEqual([]);
    expect((await wms.jobs(taskId))[0]).toMatchObject({
      state: 'DONE',
      attempt: 0,
      pilotId: await rescuer.pilotId(),
    });
    rescuer.process.kill('SIGTERM');
    expect(await rescuer.process.exit()).toEqual({ code: 0, signal: null });
  });

  it('pilots killed (SIGKILL) or frozen (SIGSTOP) mid-job are declared LOST by the watchdog; the frozen one, resumed, kills its payload and exits 3; another pilot completes both jobs', async () => {
    // Prepare: two jobs running, one on each of two pilots.
    const input = await announceDataset(plane, s3, inputFiles(2, 'lost'));
    const taskId = await registerTask(shellTask(input, FIRST_ATTEMPT_HANGS, { maxRetries: 1 }), 2);
    const killed = await fleet.start({ name: 'killed', slots: 1 });
    const frozen = await fleet.start({ name: 'frozen', slots: 1 });
    const payloadOf = async (pilot: PlanePilot) => {
      await pilot.waitFor('payload started', {}, 60_000);
      return pilot.payloads()[0]!;
    };
    const killedPayload = await payloadOf(killed);
    const frozenPayload = await payloadOf(frozen);
    const frozenId = await frozen.pilotId();
    const killedId = await killed.pilotId();

    // Act
    killed.process.kill('SIGKILL');
    frozen.process.kill('SIGSTOP');
    const rescuer = await fleet.start({ name: 'rescuer', slots: 2 });
    await eventually(async () => expect(await pilotState(frozenId)).toBe('LOST'), {
      timeoutMs: 60_000,
      intervalMs: 200,
    });
    frozen.process.kill('SIGCONT');
    const frozenExit = await frozen.process.exit(30_000);
    const done = await waitForTask(wms, taskId, 'DONE');

    // Assess
    expect(frozenExit).toEqual({ code: 3, signal: null });
    expect(liveGroupMembers(frozenPayload.pid)).toEqual([]);
    expect(frozen.linesOf('job finished')).toEqual([]);
    expect(await pilotState(killedId)).toBe('LOST');
    expect(done.counts).toMatchObject({ DONE: 2, LOST: 0, RUNNING: 0 });
    const rescuerId = await rescuer.pilotId();
    const jobs = await wms.jobs(taskId);
    expect(jobs.map((job) => [job.jobId, job.state, job.attempt, job.pilotId]).sort()).toEqual(
      [killedPayload.jobId, frozenPayload.jobId].map((jobId) => [jobId, 'DONE', 1, rescuerId]).sort(),
    );
    // The lost attempts reported nothing: only the attempts that finished left a log.
    expect((await wms.files(taskId, 'log')).map((file) => file.name).sort()).toEqual(
      jobs.map((job) => `${job.jobId}.1.log`).sort(),
    );
    rescuer.process.kill('SIGTERM');
    expect(await rescuer.process.exit()).toEqual({ code: 0, signal: null });
  });
});
