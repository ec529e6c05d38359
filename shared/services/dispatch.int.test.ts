import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  ReceiveMessageCommand,
} from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { JobMessage } from '../../events/index.js';
import {
  fileRef,
  pilotRegistration,
  type RepositoryFixture,
  repositoryFixture,
  taskSpec,
  uniquePrefix,
} from '../../test/support/index.js';
import { sleep } from '../async/index.js';
import { datasetUidFor } from '../ids/index.js';
import { planJobs } from '../jobgen/index.js';
import type { Device, JobRecord, TaskRecord } from '../model/index.js';
import { ControlRepo } from '../repositories/index.js';
import { SchedulerState } from '../scheduler/index.js';
import {
  type DispatchDeps,
  type DispatchSettings,
  runDispatchPass,
  SCHEDULER_STATE_KEY,
} from './dispatch.js';
import { ReadyJobBuffer } from './ready-jobs.js';

interface Scenario {
  fixture: RepositoryFixture;
  prefix: string;
  settings: DispatchSettings;
  deps: DispatchDeps;
}

/** Fresh tables and device queues: a pass sees every live pilot and RUNNING task of its tables. */
async function scenario(label: string): Promise<Scenario> {
  const fixture = await repositoryFixture(label);
  const prefix = uniquePrefix(label);
  const queueUrl = async (name: string) =>
    (await fixture.clients.sqs.send(new CreateQueueCommand({ QueueName: `${prefix}-${name}` }))).QueueUrl!;
  const settings: DispatchSettings = {
    jobsCpuQueueUrl: await queueUrl('jobs-cpu'),
    jobsGpuQueueUrl: await queueUrl('jobs-gpu'),
    dataBucket: 'spd-data',
    headroomFraction: 0,
  };
  fixture.calls.reset();
  return {
    fixture,
    prefix,
    settings,
    deps: {
      repos: fixture.repos,
      sqs: fixture.clients.sqs,
      settings,
      logger: new Logger({ serviceName: 'dispatch-test', logLevel: 'SILENT' }),
      metrics: new Metrics({ namespace: 'test', serviceName: 'dispatch-test' }),
    },
  };
}

/** A RUNNING task with `jobCount` READY jobs. */
async function runningTask(
  { fixture }: Scenario,
  taskId: string,
  jobCount: number,
  options: { rank?: number; device?: Device } = {},
): Promise<TaskRecord> {
  const { task } = await fixture.repos.tasks.create(
    taskId,
    taskSpec({
      rank: options.rank ?? 1,
      device: options.device ?? 'CPU',
      outputDataset: `${taskId}-out`,
      logDataset: `${taskId}-logs`,
    }),
  );
  await fixture.repos.tasks.transition({ taskId, from: 'REGISTERED', to: 'RUNNING' });
  const files = Array.from({ length: jobCount }, (_, index) =>
    fileRef(`${taskId}_${String(index).padStart(4, '0')}.raw`),
  );
  await fixture.repos.jobs.createJobs(
    task,
    planJobs({ taskId, mode: 'map', filesPerJob: 1 }, files, { final: true }).jobs,
  );
  return task;
}

async function pilot({ fixture }: Scenario, pilotId: string, device: Device, slots: number): Promise<void> {
  await fixture.repos.pilots.register(pilotRegistration(pilotId, { device, slots }));
}

/** Receives and deletes every message of a queue, parsed as job messages. */
async function drain({ fixture }: Scenario, queueUrl: string): Promise<JobMessage[]> {
  const messages: JobMessage[] = [];
  for (;;) {
    const received = await fixture.clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    const batch = received.Messages ?? [];
    if (batch.length === 0) return messages;
    messages.push(...batch.map((message) => JobMessage.parse(JSON.parse(message.Body!))));
    await fixture.clients.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: batch.map((message, index) => ({
          Id: String(index),
          ReceiptHandle: message.ReceiptHandle!,
        })),
      }),
    );
  }
}

/** What a pilot does with a message: claim the job and finish it, freeing its slot. */
async function runToCompletion({ fixture }: Scenario, message: JobMessage, pilotId: string): Promise<void> {
  const ref = { jobId: message.jobId, taskId: message.taskId, attempt: message.attempt };
  const claimToken = await fixture.repos.jobs.claim({ ...ref, pilotId });
  await fixture.repos.jobs.complete({ ...ref, claimToken, outputs: [] });
}

async function countsOf({ fixture }: Scenario, taskId: string) {
  return (await fixture.repos.tasks.get(taskId)).counts;
}

/** A Control repository whose lease is taken over, and newer cursors saved, as soon as it is taken. */
class OutlivedLeaseControlRepo extends ControlRepo {
  override async lease<Schema extends z.ZodType>(
    key: string,
    schema: Schema,
    request: { owner: string; ttlMs: number },
  ) {
    const taken = await super.lease(key, schema, request);
    const stored = await super.get(key, schema);
    await super.put(SCHEDULER_STATE_KEY, RIVAL_STATE, stored?.version);
    return taken;
  }
}

const RIVAL_STATE = { CPU: { round: 1, lastTaskId: 'rival' }, GPU: { round: 1, lastTaskId: null } };

describe('a dispatch pass', () => {
  it('queues no more jobs than the live pilots have free slots, and more as slots free up', async () => {
    // Prepare
    const env = await scenario('capacity');
    await pilot(env, 'p1', 'CPU', 3);
    await pilot(env, 'p2', 'CPU', 1);
    await runningTask(env, 't', 10);

    // Act
    const first = await runDispatchPass(env.deps);
    const again = await runDispatchPass(env.deps);
    const sent = await drain(env, env.settings.jobsCpuQueueUrl);
    for (const message of sent.slice(0, 2)) await runToCompletion(env, message, 'p1');
    const afterTwoDone = await runDispatchPass(env.deps);

    // Assess
    expect(first).toMatchObject({
      outcome: 'dispatched',
      slots: { CPU: 4 },
      free: { CPU: 4 },
      dispatched: 4,
    });
    expect(again).toMatchObject({ outcome: 'no-capacity', inFlight: { CPU: 4 }, dispatched: 0 });
    expect(sent).toHaveLength(4);
    expect(afterTwoDone).toMatchObject({ outcome: 'dispatched', dispatched: 2 });
    expect(await countsOf(env, 't')).toMatchObject({ READY: 4, QUEUED: 4, RUNNING: 0, DONE: 2 });
    expect(await drain(env, env.settings.jobsCpuQueueUrl)).toHaveLength(2);
  });

  it('counts a headroom beyond the slots, and no capacity at all without live pilots', async () => {
    const env = await scenario('headroom');
    await runningTask(env, 't', 30);
    const withoutPilots = await runDispatchPass(env.deps);
    await pilot(env, 'p', 'CPU', 20);

    const withHeadroom = await runDispatchPass({
      ...env.deps,
      settings: { ...env.settings, headroomFraction: 0.1 },
    });

    expect(withoutPilots).toMatchObject({ outcome: 'no-capacity', slots: { CPU: 0, GPU: 0 }, dispatched: 0 });
    expect(withHeadroom).toMatchObject({ free: { CPU: 22 }, dispatched: 22 });
  });

  it('sends the job message the pilot needs, stamps lastServedAt and counts the metric', async () => {
    const env = await scenario('message');
    await pilot(env, 'p', 'CPU', 2);
    const created = await runningTask(env, 't', 1);

    await runDispatchPass(env.deps);

    const [message] = await drain(env, env.settings.jobsCpuQueueUrl);
    const [job] = await env.fixture.repos.jobs.getMany([message!.jobId]);
    expect(job).toMatchObject({ state: 'QUEUED', attempt: 0 });
    expect(message).toMatchObject({
      taskId: created.taskId,
      attempt: 0,
      device: 'CPU',
      executable: created.executable,
      args: created.args,
      inputs: job!.inputs,
      wallTimeSeconds: created.wallTimeSeconds,
      output: {
        dataset: created.outputDataset,
        datasetUid: datasetUidFor(created.outputDataset),
        bucket: 'spd-data',
        prefix: `outputs/${created.outputDataset}`,
      },
      log: { dataset: created.logDataset, prefix: `outputs/${created.logDataset}` },
    });
    expect((await env.fixture.repos.tasks.get('t')).lastServedAt).toBe(job!.queuedAt);
    const emitted = env.deps.metrics.serializeMetrics() as unknown as Record<string, unknown>;
    expect(emitted.JobsDispatched).toBe(1);
    expect(emitted.DispatchLatencyMs).toEqual(expect.any(Number));
  });

  it('holds back a retried job until its backoff is over, sending the ready jobs behind it first', async () => {
    // Prepare: the task's first job was retried and waits until a minute from now.
    const env = await scenario('backoff');
    await pilot(env, 'p', 'CPU', 1);
    await runningTask(env, 't', 2);
    const [retried, fresh] = (await env.fixture.repos.jobs.listReady('t', 2)) as [JobRecord, JobRecord];
    const now = new Date('2030-01-01T12:00:00.000Z');
    await env.fixture.repos.jobs.markQueued([retried]);
    const claimToken = await env.fixture.repos.jobs.claim({ ...retried, pilotId: 'p' });
    await env.fixture.repos.jobs.retry({
      ...retried,
      from: 'RUNNING',
      claimToken,
      errorCode: 1201,
      retryAfter: new Date(now.getTime() + 60_000).toISOString(),
    });

    // Act
    const during = await runDispatchPass({ ...env.deps, clock: () => now });
    const sentDuring = await drain(env, env.settings.jobsCpuQueueUrl);
    await runToCompletion(env, sentDuring[0]!, 'p');
    const stillDuring = await runDispatchPass({ ...env.deps, clock: () => new Date(now.getTime() + 30_000) });
    const after = await runDispatchPass({ ...env.deps, clock: () => new Date(now.getTime() + 61_000) });
    const sentAfter = await drain(env, env.settings.jobsCpuQueueUrl);

    // Assess
    expect(sentDuring.map((message) => message.jobId)).toEqual([fresh.jobId]);
    expect(during.dispatched).toBe(1);
    expect(stillDuring.dispatched).toBe(0);
    expect(after.dispatched).toBe(1);
    expect(sentAfter.map((message) => [message.jobId, message.attempt])).toEqual([[retried.jobId, 1]]);
  });

  it('shares the slots between tasks of ranks 1, 2 and 4 in proportion 1:2:4 over many passes', async () => {
    // Prepare: 7 slots, so each pass serves exactly one full round-robin cycle.
    const env = await scenario('shares');
    await pilot(env, 'p', 'CPU', 7);
    for (const rank of [1, 2, 4]) await runningTask(env, `r${rank}`, 50, { rank });

    // Act
    const served = new Map<string, number>();
    for (let pass = 0; pass < 6; pass += 1) {
      await runDispatchPass(env.deps);
      const messages = await drain(env, env.settings.jobsCpuQueueUrl);
      expect(messages).toHaveLength(7);
      for (const message of messages) {
        served.set(message.taskId, (served.get(message.taskId) ?? 0) + 1);
        await runToCompletion(env, message, 'p');
      }
    }

    // Assess
    expect(Object.fromEntries(served)).toEqual({ r1: 6, r2: 12, r4: 24 });
  });

  it('lets GPU pilots take CPU jobs when no GPU job is ready, and prefers GPU jobs for GPU slots', async () => {
    const env = await scenario('gpu');
    await pilot(env, 'g', 'GPU', 4);
    await runningTask(env, 'cpu', 10, { device: 'CPU' });

    const cpuOnly = await runDispatchPass(env.deps);
    const fallback = await drain(env, env.settings.jobsCpuQueueUrl);
    await runningTask(env, 'gpu', 2, { device: 'GPU' });
    for (const message of fallback.slice(0, 3)) await runToCompletion(env, message, 'g');
    const mixed = await runDispatchPass(env.deps);

    expect(cpuOnly).toMatchObject({ free: { CPU: 0, GPU: 4 }, dispatched: 4 });
    expect(fallback.map((message) => message.taskId)).toEqual(['cpu', 'cpu', 'cpu', 'cpu']);
    // One CPU job still holds a GPU slot: 3 free, both GPU jobs first, then one CPU job.
    expect(mixed).toMatchObject({ free: { CPU: 0, GPU: 3 }, dispatched: 3 });
    expect((await drain(env, env.settings.jobsGpuQueueUrl)).map((message) => message.taskId)).toEqual([
      'gpu',
      'gpu',
    ]);
    expect((await drain(env, env.settings.jobsCpuQueueUrl)).map((message) => message.taskId)).toEqual([
      'cpu',
    ]);
  });

  it('never queues a job twice, nor beyond capacity, when passes run at the same time', async () => {
    const env = await scenario('concurrent');
    await pilot(env, 'p', 'CPU', 5);
    await runningTask(env, 't', 20);

    const reports = await Promise.all([
      runDispatchPass(env.deps),
      runDispatchPass(env.deps),
      runDispatchPass(env.deps),
    ]);
    const repeated = await runDispatchPass(env.deps);

    const messages = await drain(env, env.settings.jobsCpuQueueUrl);
    expect(reports.reduce((sum, report) => sum + report.dispatched, 0)).toBe(5);
    expect(repeated.dispatched).toBe(0);
    expect(messages).toHaveLength(5);
    expect(new Set(messages.map((message) => message.jobId)).size).toBe(5);
    expect(await countsOf(env, 't')).toMatchObject({ READY: 15, QUEUED: 5 });
  });

  it('waits while another pass holds the lease, then plans from what that pass left', async () => {
    // Prepare
    const env = await scenario('lease-wait');
    await pilot(env, 'p', 'CPU', 2);
    await runningTask(env, 't', 3);
    const held = await env.fixture.repos.control.lease(SCHEDULER_STATE_KEY, SchedulerState, {
      owner: 'another-pass',
      ttlMs: 60_000,
    });

    // Act
    let finishedBeforeRelease = false;
    let released = false;
    const pass = runDispatchPass(env.deps).finally(() => {
      finishedBeforeRelease = !released;
    });
    await sleep(500);
    released = true;
    await env.fixture.repos.control.release(SCHEDULER_STATE_KEY, 'another-pass');
    const report = await pass;

    // Assess
    expect(held.taken).toBe(true);
    expect(finishedBeforeRelease).toBe(false);
    expect(report).toMatchObject({ outcome: 'dispatched', dispatched: 2 });
    const after = await env.fixture.repos.control.lease(SCHEDULER_STATE_KEY, SchedulerState, {
      owner: 'next-pass',
      ttlMs: 1,
    });
    expect(after).toMatchObject({ taken: true, stored: { version: 1 } });
  });

  it('leaves the work to the next trigger when the lease stays held, and takes an expired one', async () => {
    // Prepare
    const env = await scenario('lease-held');
    await pilot(env, 'p', 'CPU', 2);
    await runningTask(env, 't', 3);
    await env.fixture.repos.control.lease(SCHEDULER_STATE_KEY, SchedulerState, {
      owner: 'stuck-pass',
      ttlMs: 60_000,
    });
    const aborted = AbortSignal.abort();

    // Act
    const busy = await runDispatchPass({ ...env.deps, signal: aborted });
    const countsWhileBusy = await countsOf(env, 't');
    await env.fixture.repos.control.release(SCHEDULER_STATE_KEY, 'stuck-pass');
    // A pass killed mid-way leaves its lease to expire.
    await env.fixture.repos.control.lease(SCHEDULER_STATE_KEY, SchedulerState, {
      owner: 'killed-pass',
      ttlMs: -1,
    });
    const afterExpiry = await runDispatchPass(env.deps);

    // Assess
    expect(busy).toMatchObject({ outcome: 'busy', dispatched: 0 });
    expect(countsWhileBusy).toMatchObject({ READY: 3, QUEUED: 0 });
    expect(afterExpiry).toMatchObject({ outcome: 'dispatched', dispatched: 2 });
    expect(await countsOf(env, 't')).toMatchObject({ READY: 1, QUEUED: 2 });
  });

  it('keeps the newer cursors when its lease was taken over mid-pass, and sends each job once', async () => {
    // Prepare
    const env = await scenario('lease-lost');
    await pilot(env, 'p', 'CPU', 2);
    await runningTask(env, 't', 3);
    const outlived = new OutlivedLeaseControlRepo({
      doc: env.fixture.clients.doc,
      tables: env.fixture.tables,
    });

    // Act
    const report = await runDispatchPass({ ...env.deps, repos: { ...env.fixture.repos, control: outlived } });
    const stateAfter = await env.fixture.repos.control.get(SCHEDULER_STATE_KEY, SchedulerState);

    // Assess
    expect(report).toMatchObject({ outcome: 'dispatched', planned: 2, dispatched: 2 });
    expect(stateAfter?.value).toEqual(RIVAL_STATE);
    expect(await drain(env, env.settings.jobsCpuQueueUrl)).toHaveLength(2);
  });

  it('returns the jobs to READY when their queue refuses the messages', async () => {
    const env = await scenario('unsent');
    await pilot(env, 'p', 'CPU', 3);
    await runningTask(env, 't', 3);
    await env.fixture.clients.sqs.send(new DeleteQueueCommand({ QueueUrl: env.settings.jobsCpuQueueUrl }));

    await expect(runDispatchPass(env.deps)).rejects.toThrow(/could not be sent; the jobs are READY again/);

    expect(await countsOf(env, 't')).toMatchObject({ READY: 3, QUEUED: 0 });
  });

  it('reads READY jobs ahead once for many passes, and reads again after a kept job changed', async () => {
    // Prepare
    const env = await scenario('read-ahead');
    await pilot(env, 'p', 'CPU', 2);
    await runningTask(env, 't', 12);
    const deps = { ...env.deps, readyJobs: new ReadyJobBuffer({ readAhead: 8, maxAgeMs: 60_000 }) };
    const readyQueries = () => env.fixture.calls.count({ operation: 'Query' }) - 3 * passes;
    let passes = 0;
    const pass = async () => {
      passes += 1;
      const report = await runDispatchPass(deps);
      for (const message of await drain(env, env.settings.jobsCpuQueueUrl))
        await runToCompletion(env, message, 'p');
      return report;
    };
    env.fixture.calls.reset();

    // Act: three passes of two jobs from one read of eight; then a kept job is dispatched by a
    // pass without the buffer, so the buffered pass finds it changed.
    for (let index = 0; index < 3; index++) await pass();
    const queriesForThree = readyQueries();
    await runDispatchPass(env.deps);
    for (const message of await drain(env, env.settings.jobsCpuQueueUrl))
      await runToCompletion(env, message, 'p');
    const refused = await runDispatchPass(deps);
    const afterRefusal = await runDispatchPass(deps);

    // Assess
    expect(queriesForThree).toBe(1);
    expect(refused).toMatchObject({ outcome: 'dispatched', skipped: 2, dispatched: 0 });
    expect(afterRefusal).toMatchObject({ outcome: 'dispatched', skipped: 0, dispatched: 2 });
    expect(await countsOf(env, 't')).toMatchObject({ READY: 2, QUEUED: 2, DONE: 8 });
  });

  it('sends the batches of a pass at once, not one after another', async () => {
    // Prepare: 25 jobs make three batches; the SQS client counts the sends in flight.
    const env = await scenario('parallel-sends');
    await pilot(env, 'p', 'CPU', 25);
    await runningTask(env, 't', 25);
    let inFlight = 0;
    let mostInFlight = 0;
    const sqs = env.fixture.clients.sqs;
    const countingSqs = Object.create(sqs, {
      send: {
        value: async (...args: Parameters<typeof sqs.send>) => {
          mostInFlight = Math.max(mostInFlight, ++inFlight);
          try {
            return await sqs.send(...args);
          } finally {
            inFlight--;
          }
        },
      },
    }) as typeof sqs;

    // Act
    const report = await runDispatchPass({ ...env.deps, sqs: countingSqs });

    // Assess
    expect(report.dispatched).toBe(25);
    expect(mostInFlight).toBe(3);
    expect(await drain(env, env.settings.jobsCpuQueueUrl)).toHaveLength(25);
  });

  it('makes 5 AWS calls per pass plus a fraction of a call per dispatched job', async () => {
    // Prepare
    const env = await scenario('calls');
    await pilot(env, 'p', 'CPU', 60);
    for (const rank of [1, 2, 3]) await runningTask(env, `c${rank}`, 40, { rank });
    env.fixture.calls.reset();

    // Act
    const report = await runDispatchPass(env.deps);

    // Assess: 2 pilot queries, 1 task query, the state read and write; a READY query per
    // task; one transaction for the 60 jobs; 6 SendMessageBatch; one read of the three tasks'
    // counter shards.
    const calls = env.fixture.calls.count();
    console.info(
      `dispatch pass: ${report.dispatched} jobs, ${calls} AWS calls, ${(calls / report.dispatched).toFixed(3)} per job`,
      JSON.stringify(env.fixture.calls.snapshot()),
    );
    expect(report.dispatched).toBe(60);
    expect(env.fixture.calls.count({ service: 'SQS', operation: 'SendMessageBatch' })).toBe(6);
    expect(env.fixture.calls.count({ operation: 'TransactWriteItems' })).toBe(1);
    expect(calls).toBe(5 + 3 + 1 + 6 + 1);
  });
});
