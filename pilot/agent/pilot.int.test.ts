/**
 * The pilot as separate processes (the release bundle) against the real control plane: the
 * WmsStack on the embedded runtime, its API, queues, watchdog and storage. Jobs reach the
 * pilots the real way (a DSM's dataset, a task registered through the API, job generation,
 * the dispatcher); faults come from the system itself: claims another pilot won, the watchdog,
 * a pilot marked LOST, the API or the queues cut off by a proxy, signals to the pilot.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { awsClients } from '../../shared/aws/index.js';
import { ERRORS } from '../../shared/errors/index.js';
import { datasetUidFor } from '../../shared/ids/index.js';
import { createRepositories, type Repositories } from '../../shared/repositories/index.js';
import { type ControlPlane, eventually, startControlPlane } from '../../test/support/index.js';
import { sha256Of } from '../test-support/factories.js';
import { buildPilotBundle } from '../test-support/pilot-process.js';
import { PilotFleet, type PlanePilot } from '../test-support/plane-pilots.js';
import {
  announceDataset,
  holdSlots,
  queueUrlOf,
  shellTask,
  takeJobMessage,
  type WmsApi,
  waitForJobs,
  waitForTask,
  wmsApi,
} from '../test-support/plane-tasks.js';
import { liveGroupMembers, msUntil, quantile, residentBytes } from '../test-support/processes.js';
import { SwitchableProxy } from '../test-support/proxy.js';
import { getObjectBytes } from '../test-support/storage.js';

/** Silence after which the watchdog declares a pilot LOST; the test pilots heartbeat every second. */
const PILOT_LOST_AFTER_SECONDS = 10;
/** Payload: the input, upper-cased, into `<input name>.upper`. */
const UPPER = 'tr a-z A-Z < "$1" > "$2/$(basename "$1").upper"';
/** Payload: runs until killed, with a child in its process group. */
const HANG = 'sleep 300 & sleep 300; wait';
/** Payload: the first attempt runs until killed; later ones copy the input. */
const FIRST_ATTEMPT_HANGS = `if [ "$3" = 0 ]; then ${HANG}; fi; cp "$1" "$2/"`;

const { s3, sqs, doc } = awsClients();
let plane: ControlPlane;
let wms: WmsApi;
let repos: Repositories;
let root: string;
let fleet: PilotFleet;
let jobsCpu: string;

beforeAll(async () => {
  plane = await startControlPlane({
    tunables: {
      PILOT_LOST_AFTER_SECONDS: String(PILOT_LOST_AFTER_SECONDS),
      JOB_RETRY_BASE_SECONDS: '1',
      JOB_RETRY_MAX_SECONDS: '1',
      DATASET_CLOSE_BASE_SECONDS: '1',
      DATASET_CLOSE_MAX_SECONDS: '2',
      POWERTOOLS_LOG_LEVEL: 'WARN',
    },
    // The watchdog and the dispatch schedule every 3 s.
    scheduleScale: 0.05,
  });
  wms = wmsApi(plane.api);
  jobsCpu = queueUrlOf(plane, 'jobsCpu');
  repos = createRepositories({ doc, tables: plane.tables });
  root = await mkdtemp(path.join(tmpdir(), 'pilot-process-'));
  fleet = new PilotFleet(plane, root, await buildPilotBundle(root));
}, 120_000);
afterEach(async (context) => {
  await fleet.cleanup(context.task.result?.state === 'fail');
});
afterAll(async () => {
  await plane?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

/** `count` small input files with contents of their own. */
function inputFiles(count: number, prefix: string): Record<string, string> {
  return Object.fromEntries(
    Array.from({ length: count }, (_, index) => [`${prefix}-${index}.raw`, `events of ${prefix} ${index}\n`]),
  );
}

/** Registers a task and waits until its jobs exist. */
async function registerTask(task: ReturnType<typeof shellTask>, jobs: number): Promise<string> {
  await wms.registerTask(task);
  await waitForJobs(wms, task.taskId, (found) => expect(found).toHaveLength(jobs));
  return task.taskId;
}

/** The stored content of a task's log of one attempt of a job. */
async function jobLog(taskId: string, jobId: string, attempt: number): Promise<string> {
  const log = (await wms.files(taskId, 'log')).find((file) => file.name === `${jobId}.${attempt}.log`);
  if (!log) throw new Error(`no log of ${jobId} attempt ${attempt} registered`);
  return (await getObjectBytes(s3, log.location.bucket, log.location.key)).toString('utf8');
}

async function pilotState(pilotId: string): Promise<string> {
  return (await repos.pilots.get(pilotId)).state;
}

/** Every file name under a directory, recursively. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name));
}

describe('pilots on the control plane', () => {
  it('run every job of a task once, a message delivered twice included; outputs are registered and stored with their checksums', async () => {
    // Prepare: every job queued before any pilot runs (a registration holds the slots), and one
    // job's message delivered twice, as SQS may.
    const files = inputFiles(8, 'slice');
    const input = await announceDataset(plane, s3, files);
    const holder = await holdSlots(plane, 'CPU', 8);
    const task = shellTask(input, UPPER);
    await registerTask(task, 8);
    await waitForJobs(wms, task.taskId, (jobs) =>
      expect(jobs.every((job) => job.state === 'QUEUED')).toBe(true),
    );
    const { message, job } = await takeJobMessage(sqs, jobsCpu, task.taskId);
    const duplicated = job.jobId;
    await sqs.send(new SendMessageCommand({ QueueUrl: jobsCpu, MessageBody: message.Body }));
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: jobsCpu,
        ReceiptHandle: message.ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    );
    await holder.release();

    // Act
    const pilots = [
      await fleet.start({ name: 'first', slots: 4, settings: { idleExitSeconds: 3 } }),
      await fleet.start({ name: 'second', slots: 4, settings: { idleExitSeconds: 3 } }),
    ];
    const done = await waitForTask(wms, task.taskId, 'DONE');
    const exits = await Promise.all(pilots.map((pilot) => pilot.process.exit(30_000)));

    // Assess: each job claimed and run once; the copy refused and dropped.
    expect(done.counts).toMatchObject({ DONE: 8, FAILED: 0 });
    const claimed = pilots.flatMap((pilot) => pilot.claimedJobs());
    expect(claimed).toHaveLength(8);
    expect(new Set(claimed).size).toBe(8);
    expect(pilots.flatMap((pilot) => pilot.payloads())).toHaveLength(8);
    const refused = pilots.flatMap((pilot) => pilot.linesOf('claim refused; message dropped'));
    expect(refused.map((line) => line.jobId)).toEqual([duplicated]);
    // Outputs: registered in the output dataset, stored with the registered size and checksum.
    const outputs = await wms.files(task.taskId, 'output');
    expect(outputs.map((file) => file.name).sort()).toEqual(
      Object.keys(files).map((name) => `${name}.upper`),
    );
    for (const output of outputs) {
      const stored = await getObjectBytes(s3, output.location.bucket, output.location.key);
      expect(output.datasetUid).toBe(datasetUidFor(task.outputDataset));
      expect({ size: output.size, checksum: output.checksum }).toEqual({
        size: stored.length,
        checksum: sha256Of(stored),
      });
      expect(stored.toString()).toBe(files[output.name.replace(/\.upper$/, '')]!.toUpperCase());
    }
    await eventually(
      async () =>
        expect(await wms.dataset(datasetUidFor(task.outputDataset))).toMatchObject({
          state: 'CLOSED',
          fileCount: 8,
        }),
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    // Idle, both exit cleanly and say so.
    expect(exits).toEqual([
      { code: 0, signal: null },
      { code: 0, signal: null },
    ]);
    for (const pilot of pilots) expect(await pilotState(await pilot.pilotId())).toBe('EXITED');
    // AWS calls: what the jobs cost, and what the pilots cost whatever they run.
    const calls = pilots.map((pilot) => pilot.awsCalls());
    const total = (name: string) =>
      calls.reduce((sum, call) => sum + (call.sdk[name] ?? 0) + (call.api[name] ?? 0), 0);
    const sdkCalls = calls.reduce((sum, call) => sum + Object.values(call.sdk).reduce((a, b) => a + b, 0), 0);
    const perJob = (sdkCalls + total('ApiGateway:claimJob')) / 8;
    console.log(
      `AWS calls of 2 pilots over 8 jobs (one message delivered twice): ${perJob.toFixed(2)} per job ` +
        `(SDK calls and claims), besides ${total('ApiGateway:registerPilot')} registrations and ` +
        `${total('ApiGateway:pilotHeartbeat')} heartbeats (1 s apart here, 30 s by default): ${JSON.stringify(calls)}`,
    );
  });

  describe('jobs that fail', () => {
    let pilot: PlanePilot;
    let exitsThree: string;
    let badChecksum: string;
    let traversal: { taskId: string; jobId: string };

    beforeAll(async () => {
      // A job message whose input name climbs out of the work directory, put on the device
      // queue in place of the real one (the control plane never makes such a message).
      const traversalInput = await announceDataset(plane, s3, { 'escape.raw': 'data\n' });
      const traversalTask = shellTask(traversalInput, UPPER);
      await registerTask(traversalTask, 1);
      const holder = await holdSlots(plane, 'CPU', 1);
      const { message, job: real } = await takeJobMessage(sqs, jobsCpu, traversalTask.taskId);
      const crafted = { ...real, inputs: [{ ...real.inputs[0]!, name: '../../../escaped.raw' }] };
      await sqs.send(new SendMessageCommand({ QueueUrl: jobsCpu, MessageBody: JSON.stringify(crafted) }));
      await sqs.send(new DeleteMessageCommand({ QueueUrl: jobsCpu, ReceiptHandle: message.ReceiptHandle }));
      await holder.release();
      traversal = { taskId: traversalTask.taskId, jobId: real.jobId };
      // A payload exiting 3 on every attempt, retried once.
      const exitInput = await announceDataset(plane, s3, { 'exit.raw': 'data\n' });
      exitsThree = await registerTask(
        shellTask(exitInput, 'echo "attempt $3 fails" >&2; exit 3', { maxRetries: 1 }),
        1,
      );
      // An input whose stored content is not what the DSM announced.
      const corruptInput = await announceDataset(
        plane,
        s3,
        { 'corrupt.raw': 'what is stored\n' },
        { 'corrupt.raw': `sha256:${'0'.repeat(64)}` },
      );
      badChecksum = await registerTask(shellTask(corruptInput, 'touch "$2/ran"'), 1);

      // And a message that is not even JSON.
      await sqs.send(new SendMessageCommand({ QueueUrl: jobsCpu, MessageBody: '{"not": json' }));

      pilot = await fleet.start({ name: 'failing', slots: 3 });
      await Promise.all(
        [traversal.taskId, exitsThree, badChecksum].map((taskId) => waitForTask(wms, taskId, 'FAILED')),
      );
      pilot.process.kill('SIGTERM');
      expect(await pilot.process.exit()).toEqual({ code: 0, signal: null });
    }, 120_000);

    it('a payload exiting 3 is reported as PAYLOAD_NONZERO_EXIT and retried as attempt 1', async () => {
      const [job] = await wms.jobs(exitsThree);

      expect(job).toMatchObject({
        state: 'FAILED',
        attempt: 1,
        errorCode: ERRORS.PAYLOAD_NONZERO_EXIT.code,
        exitCode: 3,
      });
      for (const attempt of [0, 1]) {
        const log = await jobLog(exitsThree, job!.jobId, attempt);
        expect(log).toContain(`attempt ${attempt} fails`);
        expect(log).toContain('exit code 3, signal null; error 1201 PAYLOAD_NONZERO_EXIT');
      }
    });

    it('an input that does not match its checksum fails stage-in, and the payload never runs', async () => {
      const [job] = await wms.jobs(badChecksum);

      expect(job).toMatchObject({
        state: 'FAILED',
        attempt: 0,
        errorCode: ERRORS.STAGE_IN_CHECKSUM_MISMATCH.code,
      });
      expect(pilot.payloads().filter((payload) => payload.jobId === job!.jobId)).toEqual([]);
      expect(await jobLog(badChecksum, job!.jobId, 0)).toContain('payload not run');
      expect(await wms.files(badChecksum, 'output')).toEqual([]);
    });

    it('a job message with a path-traversal file name is rejected and reported; nothing is written outside the work directory', async () => {
      const [job] = await wms.jobs(traversal.taskId);

      expect(job).toMatchObject({
        jobId: traversal.jobId,
        state: 'FAILED',
        errorCode: ERRORS.VALIDATION_BAD_JOB_MESSAGE.code,
      });
      expect(job!.errorMessage).toMatch(/inputs\[0\]\.name/);
      expect(pilot.claimedJobs()).toContain(traversal.jobId);
      expect(pilot.payloads().filter((payload) => payload.jobId === traversal.jobId)).toEqual([]);
      expect((await filesUnder(root)).filter((file) => file.endsWith('escaped.raw'))).toEqual([]);
    });

    it('a message that is not JSON is left to the queue and its dead-letter queue', () => {
      expect(pilot.linesOf('unreadable job message left for the dead-letter queue')).toHaveLength(1);
    });
  });

  it('a GPU pilot takes CPU jobs only when no GPU job waits, gives GPU jobs its GPU, and stops at maxJobs', async () => {
    // Prepare: two GPU jobs and a CPU job ready before the pilot comes.
    const script = 'echo "gpu=[$CUDA_VISIBLE_DEVICES]" > "$2/$(basename "$1").env"';
    const gpuInput = await announceDataset(plane, s3, inputFiles(2, 'gpu'));
    const cpuInput = await announceDataset(plane, s3, inputFiles(1, 'cpu'));
    const gpuTask = await registerTask(shellTask(gpuInput, script, { device: 'GPU' }), 2);
    const cpuTask = await registerTask(shellTask(cpuInput, script), 1);

    // Act: a node with one GPU, index 1.
    const pilot = await fleet.start({ name: 'gpu-node', gpus: [1], settings: { maxJobs: 3 } });
    const exit = await pilot.process.exit(90_000);
    await Promise.all([waitForTask(wms, gpuTask, 'DONE'), waitForTask(wms, cpuTask, 'DONE')]);

    // Assess: the CPU job last, the GPU jobs on the node's GPU, then the exit.
    expect(exit).toEqual({ code: 0, signal: null });
    const gpuJobs = (await wms.jobs(gpuTask)).map((job) => job.jobId);
    const [cpuJob] = await wms.jobs(cpuTask);
    const claimed = pilot.claimedJobs();
    expect([claimed.slice(0, 2).sort(), claimed.slice(2)]).toEqual([gpuJobs.sort(), [cpuJob!.jobId]]);
    const environments = async (taskId: string) =>
      Promise.all(
        (await wms.files(taskId, 'output')).map(async (file) =>
          (await getObjectBytes(s3, file.location.bucket, file.location.key)).toString(),
        ),
      );
    expect(await environments(gpuTask)).toEqual(['gpu=[1]\n', 'gpu=[1]\n']);
    expect(await environments(cpuTask)).toEqual(['gpu=[]\n']);
  });

  it('kills the payload of a cancelled task within 10 s of the cancel, 20 times', async () => {
    // Prepare: 20 tasks over one input, their payloads all running on one pilot.
    const count = 20;
    const input = await announceDataset(plane, s3, { 'long.raw': 'data\n' });
    const tasks = Array.from({ length: count }, () => shellTask(input, HANG));
    await Promise.all(tasks.map((task) => wms.registerTask(task)));
    const pilot = await fleet.start({ name: 'cancels', slots: count });
    await eventually(() => expect(pilot.payloads()).toHaveLength(count), {
      timeoutMs: 60_000,
      intervalMs: 200,
    });
    const payloads = new Map(pilot.payloads().map((payload) => [payload.taskId, payload.pid]));

    // Act: cancel one task at a time, timing its payload group's end.
    const latencies: number[] = [];
    for (const task of tasks) {
      const pid = payloads.get(task.taskId)!;
      const cancelled = wms.cancel(task.taskId, 'kill latency');
      latencies.push(await msUntil(() => liveGroupMembers(pid).length === 0, 10_000));
      await cancelled;
    }

    // Assess
    console.log(
      `cancel (POST /tasks/{id}/cancel) → payload process group gone, over ${count} cancels: ` +
        `p50 ${Math.round(quantile(latencies, 0.5))} ms, p95 ${Math.round(quantile(latencies, 0.95))} ms, ` +
        `max ${Math.round(Math.max(...latencies))} ms`,
    );
    expect(Math.max(...latencies)).toBeLessThan(10_000);
    // The task is CANCELLED at once; its job once the pilot's result for it is applied.
    for (const task of tasks) {
      await waitForJobs(wms, task.taskId, (jobs) =>
        expect(jobs.map((job) => job.state)).toEqual(['CANCELLED']),
      );
      expect((await waitForTask(wms, task.taskId, 'CANCELLED')).counts.CANCELLED).toBe(1);
    }
    const ours = new Set(tasks.map((task) => task.taskId));
    const finished = pilot.linesOf('job finished').filter((line) => ours.has(String(line.taskId)));
    expect(finished).toHaveLength(count);
    expect(new Set(finished.map((line) => line.errorName))).toEqual(new Set(['KILLED_CANCELLED']));
    pilot.process.kill('SIGTERM');
    expect(await pilot.process.exit()).toEqual({ code: 0, signal: null });
  });

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

  it('keeps a result while the queues are unreachable for 20 s and delivers it afterwards', async () => {
    // Prepare: a pilot reaching SQS through a proxy (the API and S3 directly).
    const emulator = new URL(process.env.AWS_ENDPOINT_URL!);
    const proxy = new SwitchableProxy(Number(emulator.port));
    await proxy.up();
    try {
      const input = await announceDataset(plane, s3, { 'late.raw': 'late result\n' });
      const taskId = await registerTask(shellTask(input, `sleep 2; ${UPPER}`), 1);
      const pilot = await fleet.start({ name: 'outage', slots: 1, sqsEndpoint: proxy.endpoint });
      await pilot.waitFor('payload started', { taskId });

      // Act: cut off while the payload runs, for 20 s.
      await proxy.down();
      const cutAt = Date.now();
      await pilot.waitFor('job finished', { outcome: 'DONE' });
      await pilot.waitFor('status queue unreachable; retrying');
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
