/**
 * The pilot as separate processes (the release bundle) against the real control plane: the
 * WmsStack on the embedded runtime, its API, queues, watchdog and storage. Jobs reach the
 * pilots the real way (a DSM's dataset, a task registered through the API, job generation,
 * the dispatcher). This file: jobs run, fail, take their device's resources and are cancelled;
 * pilot-faults.int.test.ts: the faults (claims another pilot won, the watchdog, a pilot marked
 * LOST, the API or the queues cut off by a proxy, signals to the pilot).
 */
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import { awsClients } from '../../shared/aws/index.js';
import { ERRORS } from '../../shared/errors/index.js';
import { datasetUidFor } from '../../shared/ids/index.js';
import { eventually } from '../../test/support/index.js';
import { sha256Of } from '../test-support/factories.js';
import type { PlanePilot } from '../test-support/plane-pilots.js';
import {
  filesUnder,
  fleet,
  HANG,
  inputFiles,
  jobLog,
  jobsCpu,
  pilotState,
  plane,
  registerTask,
  root,
  UPPER,
  usePilotPlane,
  waitUntilNoLivePilot,
  wms,
} from '../test-support/plane-suite.js';
import {
  announceDataset,
  holdSlots,
  shellTask,
  takeJobMessage,
  waitForJobs,
  waitForTask,
} from '../test-support/plane-tasks.js';
import { liveGroupMembers, msUntil, quantile } from '../test-support/processes.js';
import { HoldingProxy } from '../test-support/proxy.js';
import { getObjectBytes } from '../test-support/storage.js';

const { s3, sqs } = awsClients();
usePilotPlane();

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

  it('a slot takes the next payload while the last job uploads, and no more jobs are taken than two a slot', async () => {
    // Prepare: three jobs queued (a registration holds the slots), and a store that holds back
    // every upload of the pilot.
    const emulator = new URL(process.env.AWS_ENDPOINT_URL!);
    const store = new HoldingProxy(Number(emulator.port), (request) => request.method === 'PUT');
    await store.start();
    try {
      const input = await announceDataset(plane, s3, inputFiles(3, 'staged'));
      const holder = await holdSlots(plane, 'CPU', 3);
      const taskId = await registerTask(shellTask(input, UPPER), 3);
      await waitForJobs(wms, taskId, (jobs) =>
        expect(jobs.every((job) => job.state === 'QUEUED')).toBe(true),
      );
      await holder.release();
      store.hold();

      // Act: one slot.
      const pilot = await fleet.start({ name: 'overlap', slots: 1, s3Endpoint: store.endpoint });
      await eventually(() => expect(pilot.payloads()).toHaveLength(2), { timeoutMs: 30_000 });
      // Long enough for more receives (the pilot polls for a second at a time).
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      const claimedWhileHeld = pilot.claimedJobs();
      const finishedWhileHeld = pilot.linesOf('job finished');
      store.release();
      const done = await waitForTask(wms, taskId, 'DONE');

      // Assess: the second payload ran while the first job's upload was held; the third job
      // waited for one of them to finish.
      expect(claimedWhileHeld).toHaveLength(2);
      expect(finishedWhileHeld).toEqual([]);
      expect(store.heldRequests.length).toBeGreaterThanOrEqual(2);
      expect(done.counts.DONE).toBe(3);
      expect(pilot.claimedJobs()).toHaveLength(3);
    } finally {
      await store.stop();
    }
  });

  it('a GPU pilot takes CPU jobs only when no GPU job waits, gives GPU jobs its GPU, and stops at maxJobs', async () => {
    // Prepare: two GPU jobs and a CPU job ready before the pilot comes, and no slots but its
    // own: a CPU slot of an earlier test's pilot would have the CPU job queued before the GPU jobs.
    await waitUntilNoLivePilot();
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
});
