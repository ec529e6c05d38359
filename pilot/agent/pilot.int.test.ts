/**
 * The pilot as a separate process against the emulator (SQS, S3) and the pilot API routes:
 * claims, the status outbox, kill commands, shutdown, LOST, GPU fallback and maxJobs.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type {
  JobMessage,
  JobProgressMessage,
  JobResultMessage,
  PilotStatusMessage,
} from '../../events/pilot.js';
import { createAwsClients } from '../../shared/aws/index.js';
import { ERRORS } from '../../shared/errors/index.js';
import { jobMessage, sha256Of } from '../test-support/factories.js';
import { type LoggingProcess, startPilot } from '../test-support/pilot-process.js';
import { PilotRoutesServer } from '../test-support/pilot-routes.js';
import { liveGroupMembers } from '../test-support/processes.js';
import { createTestQueue, queueDepth, StatusCollector, sendBody } from '../test-support/queues.js';
import { createTestBucket, getObjectBytes, putObject } from '../test-support/storage.js';

const { sqs, s3 } = createAwsClients();
let bucket: string;
let root: string;
let routes: PilotRoutesServer;
let counter = 0;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  bucket = await createTestBucket(s3, 'pilot-process');
  root = await mkdtemp(path.join(tmpdir(), 'pilot-process-'));
  routes = await new PilotRoutesServer({
    sqs,
    queuePrefix: 'pilot-process',
    heartbeatIntervalSeconds: 1,
    region: process.env.AWS_REGION!,
    credentials: new Map([[process.env.AWS_ACCESS_KEY_ID!, process.env.AWS_SECRET_ACCESS_KEY!]]),
  }).start();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});
afterAll(async () => {
  await routes.close();
  await rm(root, { recursive: true, force: true });
});

const isResult =
  (jobId: string) =>
  (message: PilotStatusMessage): message is JobResultMessage =>
    message.type === 'job.result' && message.jobId === jobId;
const isPhase = (jobId: string, phase: JobProgressMessage['phase']) => (message: PilotStatusMessage) =>
  message.type === 'job.progress' && message.jobId === jobId && message.phase === phase;

/** Queues, a status reader and a config file for one pilot; the pilot is started by the test. */
async function prepare(configOverrides: Record<string, unknown> = {}) {
  const id = counter++;
  const queues = {
    CPU: await createTestQueue(sqs, 'pilot-cpu'),
    GPU: await createTestQueue(sqs, 'pilot-gpu'),
    status: await createTestQueue(sqs, 'pilot-status'),
  };
  const status = new StatusCollector(sqs, queues.status);
  const configFile = path.join(root, `pilot-${id}.json`);
  await writeFile(
    configFile,
    JSON.stringify({
      apiUrl: routes.url,
      jobQueueUrls: { CPU: queues.CPU, GPU: queues.GPU },
      statusQueueUrl: queues.status,
      workDir: path.join(root, `work-${id}`),
      spoolDir: path.join(root, `spool-${id}`),
      device: 'CPU',
      slots: 1,
      killGraceSeconds: 1,
      shutdownGraceSeconds: 1,
      ...configOverrides,
    }),
  );
  let pilot: LoggingProcess | null = null;
  cleanups.push(async () => {
    await status.stop();
    if (pilot && !pilot.hasExited) {
      pilot.kill('SIGKILL');
      await pilot.exited;
    }
  });
  return {
    queues,
    status,
    start: () => {
      pilot = startPilot(configFile);
      return pilot;
    },
  };
}

/** The id and control queue the pilot registered with. */
async function registered(pilot: LoggingProcess): Promise<{ pilotId: string; controlQueueUrl: string }> {
  const line = await pilot.waitForLine((entry) => entry.message === 'pilot registered');
  return { pilotId: String(line.pilotId), controlQueueUrl: String(line.controlQueueUrl) };
}

/** A job whose input is stored and whose payload is `sh -c <script>`. */
async function storedJob(
  name: string,
  script: string,
  overrides: Partial<JobMessage> = {},
): Promise<JobMessage> {
  const data = Buffer.from(`input of ${name}\n`);
  const key = `raw/${name}/in.raw`;
  await putObject(s3, bucket, key, data);
  return jobMessage({
    jobId: `j-${name}`,
    taskId: 't-process',
    args: ['-c', script],
    inputs: [{ name: 'in.raw', location: { bucket, key }, size: data.length, checksum: sha256Of(data) }],
    output: { dataset: 'out', datasetUid: 'ds-out', bucket, prefix: `out/${name}` },
    log: { dataset: 'logs', datasetUid: 'ds-logs', bucket, prefix: `logs/${name}` },
    ...overrides,
  });
}

function awsCallsOf(pilot: LoggingProcess): Record<string, number> {
  const line = pilot.lines.find((entry) => entry.message === 'AWS API calls');
  const calls = (line?.calls ?? []) as { service: string; operation: string; calls: number }[];
  return Object.fromEntries(calls.map((call) => [`${call.service}:${call.operation}`, call.calls]));
}

describe('pilot process', () => {
  it('claims, runs and reports a job, drops a duplicate delivery, then exits when idle', async () => {
    const { queues, status, start } = await prepare({ idleExitSeconds: 2 });
    const name = `e2e-${counter}`;
    const job = await storedJob(name, 'unused', {
      args: ['-c', 'tr a-z A-Z < "$1" > "$WMS_OUTPUT_DIR/upper.txt"', 'sh', '{input}'],
    });
    await sendBody(sqs, queues.CPU, job);
    await sendBody(sqs, queues.CPU, job);

    const pilot = start();
    const { pilotId } = await registered(pilot);
    const result = await status.waitFor(isResult(job.jobId));
    const exit = await pilot.exit();

    expect(result).toMatchObject({ outcome: 'DONE', errorCode: 0, pilotId, attempt: 0 });
    expect(result.outputs.map((output) => [output.kind, output.name])).toEqual([
      ['output', 'upper.txt'],
      ['log', `${job.jobId}.0.log`],
    ]);
    expect((await getObjectBytes(s3, bucket, `${job.output.prefix}/upper.txt`)).toString()).toBe(
      `INPUT OF ${name.toUpperCase()}\n`,
    );
    const phases = status.messages.filter((m) => m.type === 'job.progress' && m.jobId === job.jobId);
    expect(phases.map((m) => (m as JobProgressMessage).phase).sort()).toEqual([
      'CLAIMED',
      'EXECUTING',
      'STAGE_IN',
      'STAGE_OUT',
    ]);
    expect(new Set(phases.map((m) => m.claimToken))).toEqual(new Set([result.claimToken]));
    expect(routes.claims.filter((claim) => claim.jobId === job.jobId).map((claim) => claim.status)).toEqual([
      200, 409,
    ]);
    expect(status.messages.filter(isResult(job.jobId))).toHaveLength(1);
    expect(await queueDepth(sqs, queues.CPU)).toEqual({ visible: 0, inFlight: 0 });
    expect(exit).toEqual({ code: 0, signal: null });
    expect(routes.heartbeats.filter((beat) => beat.pilotId === pilotId).at(-1)?.state).toBe('EXITED');
    expect(routes.refusedSignatures).toEqual([]);
    console.log('AWS API calls of a pilot that ran one job (and dropped a duplicate):', awsCallsOf(pilot));
  });

  it('kills a running payload within 10 s of a kill command on its control queue', async () => {
    const { queues, status, start } = await prepare();
    const job = await storedJob(`kill-${counter}`, 'sleep 300 & sleep 300; wait');
    await sendBody(sqs, queues.CPU, job);
    const pilot = start();
    const { controlQueueUrl } = await registered(pilot);
    await status.waitFor(isPhase(job.jobId, 'EXECUTING'));
    const started = await pilot.waitForLine((line) => line.message === 'payload started');

    const sentAt = Date.now();
    await sendBody(sqs, controlQueueUrl, {
      type: 'job.kill',
      jobId: job.jobId,
      attempt: job.attempt,
      reason: 'cancelled',
      issuedAt: new Date(sentAt).toISOString(),
    });
    const result = await status.waitFor(isResult(job.jobId));
    const latency = Date.now() - sentAt;

    console.log(`kill command sent → killed result on the status queue: ${latency} ms`);
    expect(latency).toBeLessThan(10_000);
    expect(result).toMatchObject({ outcome: 'FAILED', errorCode: ERRORS.KILLED_CANCELLED.code });
    expect(liveGroupMembers(started.pid as number)).toEqual([]);
    pilot.kill('SIGTERM');
    expect(await pilot.exit()).toEqual({ code: 0, signal: null });
  });

  it('on SIGTERM returns unclaimed messages, fails running jobs as returned, says EXITED and exits 0', async () => {
    const { queues, status, start } = await prepare({ slots: 2 });
    const running = await storedJob(`running-${counter}`, 'sleep 300');
    const unclaimed = await storedJob(`unclaimed-${counter}`, 'true');
    routes.unavailableJobs.add(unclaimed.jobId);
    await sendBody(sqs, queues.CPU, running);
    const pilot = start();
    const { pilotId } = await registered(pilot);
    await status.waitFor(isPhase(running.jobId, 'EXECUTING'));
    await sendBody(sqs, queues.CPU, unclaimed);
    await pilot.waitForLine(
      (line) => line.message === 'control plane unreachable; claim retried' && line.jobId === unclaimed.jobId,
    );

    const signalledAt = Date.now();
    pilot.kill('SIGTERM');
    const exit = await pilot.exit();

    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalledAt).toBeLessThan(10_000);
    const result =
      status.messages.find(isResult(running.jobId)) ?? (await status.waitFor(isResult(running.jobId)));
    expect(result).toMatchObject({ outcome: 'FAILED', errorCode: ERRORS.PILOT_SHUTDOWN.code });
    const returned = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queues.CPU, WaitTimeSeconds: 1 }));
    expect(returned.Messages?.map((message) => JSON.parse(message.Body!).jobId)).toEqual([unclaimed.jobId]);
    expect(routes.heartbeats.filter((beat) => beat.pilotId === pilotId).at(-1)).toMatchObject({
      state: 'EXITED',
      jobs: [],
    });
    routes.unavailableJobs.delete(unclaimed.jobId);
  });

  it('fails a job message with readable ids, and leaves an unreadable one for the dead-letter queue', async () => {
    const { queues, status, start } = await prepare({ idleExitSeconds: 2 });
    const invalid = {
      ...jobMessage({ jobId: `j-invalid-${counter}` }),
      executable: 'rm -rf / ; echo',
      inputs: [],
    };
    await sendBody(sqs, queues.CPU, invalid);
    await sendBody(sqs, queues.CPU, '{"this is": not json');

    const pilot = start();
    const result = await status.waitFor(isResult(invalid.jobId));
    const exit = await pilot.exit();

    expect(result).toMatchObject({ outcome: 'FAILED', errorCode: ERRORS.VALIDATION_BAD_JOB_MESSAGE.code });
    expect(result.errorMessage).toMatch(/executable/);
    expect(exit.code).toBe(0);
    expect(await queueDepth(sqs, queues.CPU)).toEqual({ visible: 0, inFlight: 1 });
  });

  it('drops its jobs without a result and exits 3 once declared LOST', async () => {
    const { queues, status, start } = await prepare();
    const job = await storedJob(`lost-${counter}`, 'sleep 300');
    await sendBody(sqs, queues.CPU, job);
    const pilot = start();
    const { pilotId } = await registered(pilot);
    await status.waitFor(isPhase(job.jobId, 'EXECUTING'));
    const started = await pilot.waitForLine((line) => line.message === 'payload started');

    routes.lostPilots.add(pilotId);
    const exit = await pilot.exit(15_000);

    expect(exit).toEqual({ code: 3, signal: null });
    expect(liveGroupMembers(started.pid as number)).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(status.messages.filter(isResult(job.jobId))).toEqual([]);
  });

  it('as a GPU pilot takes GPU jobs first, CPU jobs when no GPU job waits, and stops at maxJobs', async () => {
    const { queues, status, start } = await prepare({
      device: undefined,
      gpuCount: 1,
      slots: undefined,
      maxJobs: 2,
    });
    const script = 'echo "gpu=[$CUDA_VISIBLE_DEVICES]" > "$WMS_OUTPUT_DIR/env.txt"';
    const cpuJob = await storedJob(`cpu-${counter}`, script);
    const gpuJob = await storedJob(`gpu-${counter}`, script, { device: 'GPU' });
    const leftOver = await storedJob(`left-${counter}`, script);
    await sendBody(sqs, queues.CPU, cpuJob);
    await sendBody(sqs, queues.GPU, gpuJob);

    const pilot = start();
    const gpuResult = await status.waitFor(isResult(gpuJob.jobId));
    await sendBody(sqs, queues.CPU, leftOver);
    const cpuResult = await status.waitFor(isResult(cpuJob.jobId));
    const exit = await pilot.exit();

    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.parse(gpuResult.phaseTimes.CLAIMED!)).toBeLessThan(Date.parse(cpuResult.phaseTimes.CLAIMED!));
    const gpuEnv = await getObjectBytes(
      s3,
      bucket,
      gpuResult.outputs.find((o) => o.kind === 'output')!.location.key,
    );
    const cpuEnv = await getObjectBytes(
      s3,
      bucket,
      cpuResult.outputs.find((o) => o.kind === 'output')!.location.key,
    );
    expect(gpuEnv.toString()).toBe('gpu=[0]\n');
    expect(cpuEnv.toString()).toBe('gpu=[]\n');
    expect(status.messages.some(isResult(leftOver.jobId))).toBe(false);
    expect((await queueDepth(sqs, queues.CPU)).visible).toBe(1);
  });
});
