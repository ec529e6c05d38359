import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import {
  CreateQueueCommand,
  ListQueuesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { PilotControlCommand } from '../../events/index.js';
import {
  fileRef,
  pilotRegistration,
  type RepositoryFixture,
  repositoryFixture,
  taskSpec,
  uniquePrefix,
} from '../../test/support/index.js';
import { ERRORS } from '../errors/index.js';
import { planJobs } from '../jobgen/index.js';
import type { JobRecord, TaskRecord } from '../model/index.js';
import { counterShardKey } from '../repositories/counter-shards.js';
import { type PilotChange, PilotsRepo, type PilotTransition } from '../repositories/index.js';
import { runWatchdog, type WatchdogDeps } from './watchdog.js';

const LOST_AFTER_SECONDS = 90;
const STUCK_AFTER_SECONDS = 300;
const UNREPORTED_AFTER_SECONDS = 60;
/** The watchdog runs this far in the future, so everything written now is old to it. */
const LATER_MS = 10 * 60 * 1000;

interface Scenario {
  fixture: RepositoryFixture;
  prefix: string;
  deps: WatchdogDeps;
}

async function scenario(label: string): Promise<Scenario> {
  const fixture = await repositoryFixture(label);
  const prefix = uniquePrefix(label);
  const queueUrl = async (name: string) =>
    (await fixture.clients.sqs.send(new CreateQueueCommand({ QueueName: `${prefix}-${name}` }))).QueueUrl!;
  return {
    fixture,
    prefix,
    deps: {
      repos: fixture.repos,
      sqs: fixture.clients.sqs,
      s3: fixture.clients.s3,
      settings: {
        pilotLostAfterSeconds: LOST_AFTER_SECONDS,
        jobUnreportedAfterSeconds: UNREPORTED_AFTER_SECONDS,
        queuedStuckAfterSeconds: STUCK_AFTER_SECONDS,
        controlQueuePrefix: `${prefix}-pilot-`,
        jobsCpuQueueUrl: await queueUrl('jobs-cpu'),
        jobsGpuQueueUrl: await queueUrl('jobs-gpu'),
        rank: {},
        retryPolicy: {},
        auditTasks: 0,
        auditObjects: 0,
        eventBusName: 'wms-bus',
      },
      logger: new Logger({ serviceName: 'watchdog-test', logLevel: 'SILENT' }),
      metrics: new Metrics({ namespace: 'test', serviceName: 'watchdog-test' }),
      clock: () => new Date(Date.now() + LATER_MS),
    },
  };
}

/** A RUNNING task with `jobCount` READY jobs. */
async function runningTask(
  { fixture }: Scenario,
  taskId: string,
  jobCount: number,
  overrides: Parameters<typeof taskSpec>[0] = {},
): Promise<{ task: TaskRecord; jobs: JobRecord[] }> {
  const { task } = await fixture.repos.tasks.create(taskId, taskSpec(overrides));
  await fixture.repos.tasks.transition({ taskId, from: 'REGISTERED', to: 'RUNNING' });
  const files = Array.from({ length: jobCount }, (_, index) => fileRef(`${taskId}_${index}.raw`));
  const plan = planJobs({ taskId, mode: 'map', filesPerJob: 1 }, files, { final: true });
  await fixture.repos.jobs.createJobs(task, plan.jobs);
  return { task, jobs: await fixture.repos.jobs.getMany(plan.jobs.map((job) => job.jobId)) };
}

/** A registered pilot with its control queue. */
async function pilotWithQueue({ fixture, deps }: Scenario, pilotId: string): Promise<string> {
  const { QueueUrl } = await fixture.clients.sqs.send(
    new CreateQueueCommand({ QueueName: `${deps.settings.controlQueuePrefix}${pilotId}` }),
  );
  await fixture.repos.pilots.register(pilotRegistration(pilotId, { controlQueueUrl: QueueUrl! }));
  return QueueUrl!;
}

async function runOn({ fixture }: Scenario, jobs: readonly JobRecord[], pilotId: string): Promise<void> {
  await fixture.repos.jobs.markQueued(jobs);
  for (const job of jobs) await fixture.repos.jobs.claim({ ...job, pilotId });
}

async function controlQueues({ fixture, deps }: Scenario): Promise<string[]> {
  const listed = await fixture.clients.sqs.send(
    new ListQueuesCommand({ QueueNamePrefix: deps.settings.controlQueuePrefix }),
  );
  return (listed.QueueUrls ?? []).map((url) => url.slice(url.lastIndexOf('/') + 1)).sort();
}

/** A pilot repository under which the pilot heartbeats just before the watchdog declares it lost. */
class RevivingPilotsRepo extends PilotsRepo {
  override async transition(change: PilotTransition): Promise<PilotChange> {
    await super.heartbeat({
      pilotId: change.pilotId,
      busySlots: 1,
      at: new Date(Date.now() + LATER_MS).toISOString(),
    });
    return super.transition(change);
  }
}

describe('a watchdog run', () => {
  it('declares a silent pilot LOST, retries its jobs, fails those out of retries and deletes its queue', async () => {
    // Prepare: a silent pilot running one job of each task; a live pilot running another.
    const env = await scenario('lost');
    const { fixture } = env;
    const retryable = await runningTask(env, 'retryable', 2, { maxRetries: 3 });
    const exhausted = await runningTask(env, 'exhausted', 1, { maxRetries: 0 });
    await pilotWithQueue(env, 'silent');
    await pilotWithQueue(env, 'alive');
    await runOn(env, [retryable.jobs[0]!, exhausted.jobs[0]!], 'silent');
    await runOn(env, [retryable.jobs[1]!], 'alive');
    await fixture.repos.pilots.heartbeat({
      pilotId: 'alive',
      busySlots: 1,
      at: env.deps.clock!().toISOString(),
    });

    // Act
    const report = await runWatchdog(env.deps);
    const again = await runWatchdog(env.deps);

    // Assess
    expect(report).toMatchObject({
      pilotsLost: ['silent'],
      jobsLost: 2,
      lostJobs: { retried: 1, failed: 1, cancelled: 0 },
      controlQueuesDeleted: 1,
    });
    expect(again).toMatchObject({ pilotsLost: [], jobsLost: 0, lostJobs: { retried: 0, failed: 0 } });
    expect(await fixture.repos.pilots.get('silent')).toMatchObject({ state: 'LOST' });
    expect(await fixture.repos.pilots.get('alive')).toMatchObject({ state: 'ACTIVE' });
    expect(await fixture.repos.jobs.get(retryable.jobs[0]!.jobId)).toMatchObject({
      state: 'READY',
      attempt: 1,
      errorCode: 1501,
    });
    expect(await fixture.repos.jobs.get(exhausted.jobs[0]!.jobId)).toMatchObject({
      state: 'FAILED',
      attempt: 0,
    });
    expect(await fixture.repos.jobs.get(retryable.jobs[1]!.jobId)).toMatchObject({
      state: 'RUNNING',
      pilotId: 'alive',
    });
    expect((await fixture.repos.tasks.get('retryable')).counts).toMatchObject({
      READY: 1,
      RUNNING: 1,
      LOST: 0,
    });
    expect(await controlQueues(env)).toEqual([`${env.deps.settings.controlQueuePrefix}alive`]);
    expect((env.deps.metrics.serializeMetrics() as unknown as Record<string, unknown>).PilotsLost).toBe(1);
  });

  it('retries a LOST job at once, whatever the backoff a reported failure waits, counting the attempt', async () => {
    // Prepare: a job on its second attempt (its first failed) run by a pilot that falls silent;
    // a backoff of 60 s doubling per attempt, and a fixed clock.
    const env = await scenario('lost-backoff');
    const { fixture } = env;
    const now = new Date(Date.now() + LATER_MS);
    const deps: WatchdogDeps = {
      ...env.deps,
      settings: { ...env.deps.settings, retryPolicy: { baseSeconds: 60, maxSeconds: 600 } },
      clock: () => now,
    };
    const { jobs } = await runningTask(env, 'backoff', 1, { maxRetries: 3 });
    const job = jobs[0]!;
    await pilotWithQueue(env, 'first');
    await fixture.repos.jobs.markQueued([job]);
    const claimToken = await fixture.repos.jobs.claim({ ...job, pilotId: 'first' });
    await fixture.repos.jobs.retry({ ...job, from: 'RUNNING', claimToken, errorCode: 1201 });
    await pilotWithQueue(env, 'silent');
    await runOn(env, [{ ...job, attempt: 1 }], 'silent');

    // Act
    const report = await runWatchdog(deps);

    // Assess: attempt 1 was lost, so attempt 2 is dispatchable now, not 60 s · 2^1 later.
    expect(report.lostJobs).toMatchObject({ retried: 1, failed: 0 });
    expect(await fixture.repos.jobs.get(job.jobId)).toMatchObject({
      state: 'READY',
      attempt: 2,
      errorCode: 1501,
      retryAfter: now.toISOString(),
    });
    expect(await fixture.repos.jobs.listReady('backoff', 5, { readyBy: now.toISOString() })).toHaveLength(1);
  });

  it('tells a pilot that heartbeats again after its jobs were declared LOST to kill them', async () => {
    const env = await scenario('revived');
    const { jobs } = await runningTask(env, 't', 1);
    const controlQueueUrl = await pilotWithQueue(env, 'late');
    await runOn(env, jobs, 'late');
    const reviving = new RevivingPilotsRepo({ doc: env.fixture.clients.doc, tables: env.fixture.tables });

    const report = await runWatchdog({ ...env.deps, repos: { ...env.fixture.repos, pilots: reviving } });

    expect(report).toMatchObject({ pilotsLost: [], jobsLost: 1, killsSent: 1, controlQueuesDeleted: 0 });
    expect(await env.fixture.repos.pilots.get('late')).toMatchObject({ state: 'ACTIVE' });
    const received = await env.fixture.clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: controlQueueUrl }),
    );
    expect(PilotControlCommand.parse(JSON.parse(received.Messages![0]!.Body!))).toMatchObject({
      type: 'job.kill',
      jobId: jobs[0]!.jobId,
      attempt: 0,
      reason: 'lost',
    });
  });

  it('retries a RUNNING job its live pilot stopped reporting once unreported for the set time, and leaves the others alone', async () => {
    // Prepare: three jobs running on a live pilot; its heartbeats report the first only, the
    // third is claimed after the first heartbeat.
    const env = await scenario('unreported');
    const { fixture } = env;
    const { jobs } = await runningTask(env, 't', 3, { maxRetries: 3 });
    const controlQueueUrl = await pilotWithQueue(env, 'p');
    await runOn(env, jobs.slice(0, 2), 'p');
    const first = new Date();
    const heartbeat = (seconds: number, reported: readonly JobRecord[]) =>
      fixture.repos.pilots.heartbeat({
        pilotId: 'p',
        busySlots: reported.length,
        at: new Date(first.getTime() + seconds * 1000).toISOString(),
        jobs: reported.map((job) => ({
          jobId: job.jobId,
          attempt: job.attempt,
          phase: 'EXECUTING' as const,
        })),
      });
    await heartbeat(0, [jobs[0]!]);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await runOn(env, [jobs[2]!], 'p');
    const watch = () => runWatchdog({ ...env.deps, clock: () => new Date() });

    // Act: a run after the first heartbeat, one 59 s later, one 60 s later.
    const listed = await watch();
    const listedOn = (await fixture.repos.pilots.get('p')).unreportedJobs;
    await heartbeat(59, [jobs[0]!, jobs[2]!]);
    const notYet = await watch();
    await heartbeat(60, [jobs[0]!, jobs[2]!]);
    const retried = await watch();

    // Assess
    expect(listed.unreportedJobsLost).toBe(0);
    expect(listedOn).toEqual([{ jobId: jobs[1]!.jobId, attempt: 0, since: first.toISOString() }]);
    expect(notYet.unreportedJobsLost).toBe(0);
    expect(retried).toMatchObject({ unreportedJobsLost: 1, killsSent: 1, lostJobs: { retried: 1 } });
    expect(await fixture.repos.jobs.get(jobs[1]!.jobId)).toMatchObject({
      state: 'READY',
      attempt: 1,
      errorCode: ERRORS.LOST_UNREPORTED.code,
    });
    for (const job of [jobs[0]!, jobs[2]!]) {
      expect(await fixture.repos.jobs.get(job.jobId)).toMatchObject({
        state: 'RUNNING',
        attempt: 0,
        pilotId: 'p',
      });
    }
    expect(await fixture.repos.pilots.get('p')).toMatchObject({ state: 'ACTIVE', unreportedJobs: [] });
    const received = await fixture.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: controlQueueUrl }));
    expect(PilotControlCommand.parse(JSON.parse(received.Messages![0]!.Body!))).toMatchObject({
      type: 'job.kill',
      jobId: jobs[1]!.jobId,
      attempt: 0,
      reason: 'lost',
    });
  });

  it('re-queues stuck QUEUED jobs only as far as their queue lacks messages', async () => {
    // Prepare: three jobs QUEUED long ago, one message still in the CPU queue.
    const env = await scenario('stuck');
    const { jobs } = await runningTask(env, 't', 4);
    await env.fixture.repos.jobs.markQueued(jobs.slice(0, 3));
    await env.fixture.clients.sqs.send(
      new SendMessageCommand({ QueueUrl: env.deps.settings.jobsCpuQueueUrl, MessageBody: '{"type":"job"}' }),
    );
    const recent = await runWatchdog({ ...env.deps, clock: () => new Date() });

    // Act
    const report = await runWatchdog(env.deps);

    // Assess
    expect(recent.requeued).toBe(0);
    expect(report.requeued).toBe(2);
    expect((await env.fixture.repos.tasks.get('t')).counts).toMatchObject({ READY: 3, QUEUED: 1 });
    const states = await env.fixture.repos.jobs.getMany(jobs.map((job) => job.jobId));
    expect(states.map((job) => job.attempt)).toEqual([0, 0, 0, 0]);
  });

  it('ages the rank of a task whose READY jobs wait, and lets a served task return to its base rank', async () => {
    const env = await scenario('aging');
    await runningTask(env, 'waiting', 2, { rank: 3 });
    await runningTask(env, 'served', 1, { rank: 3 });
    const [servedJob] = await env.fixture.repos.jobs.listReady('served', 1);
    await env.fixture.repos.jobs.markQueued([servedJob!]);
    await env.fixture.repos.tasks.setRank({ taskId: 'served', rank: 9 });

    const report = await runWatchdog(env.deps);

    // 10 minutes waited, in 60 s aging units with α = 1: +10 over the base rank.
    expect(report.ranksChanged).toBe(2);
    expect(await env.fixture.repos.tasks.get('waiting')).toMatchObject({ baseRank: 3, rank: 13 });
    // Nothing READY: the boost of 6 is halved (γ = 0.5).
    expect(await env.fixture.repos.tasks.get('served')).toMatchObject({ baseRank: 3, rank: 6 });
  });

  it('deletes control queues no live pilot owns once they are older than the grace period', async () => {
    const env = await scenario('orphans');
    await pilotWithQueue(env, 'owner');
    await env.fixture.repos.pilots.heartbeat({
      pilotId: 'owner',
      busySlots: 0,
      at: env.deps.clock!().toISOString(),
    });
    const prefix = env.deps.settings.controlQueuePrefix;
    await env.fixture.clients.sqs.send(new CreateQueueCommand({ QueueName: `${prefix}gone` }));

    const fresh = await runWatchdog({ ...env.deps, clock: () => new Date() });
    const later = await runWatchdog(env.deps);

    expect(fresh.controlQueuesDeleted).toBe(0);
    expect(later.controlQueuesDeleted).toBe(1);
    expect(await controlQueues(env)).toEqual([`${prefix}owner`]);
  });

  it('audits a sample of RUNNING tasks and repairs their counters', async () => {
    const env = await scenario('audit');
    await runningTask(env, 't', 3);
    await env.fixture.clients.doc.send(
      new UpdateCommand({
        TableName: env.fixture.tables.tasks,
        Key: counterShardKey('t', 0),
        UpdateExpression: 'SET #counts.#done = :five',
        ExpressionAttributeNames: { '#counts': 'counts', '#done': 'DONE' },
        ExpressionAttributeValues: { ':five': 5 },
      }),
    );

    const report = await runWatchdog({
      ...env.deps,
      settings: { ...env.deps.settings, auditTasks: 5, auditObjects: 10 },
    });

    expect(report.audit?.findings.map((finding) => finding.invariant)).toEqual(['task-counters']);
    expect(report.audit?.repairs).toEqual([expect.objectContaining({ applied: true })]);
    expect((await env.fixture.repos.tasks.get('t')).counts).toMatchObject({ READY: 3, DONE: 0 });
  });

  it('counts its AWS calls on a quiet system', async () => {
    const env = await scenario('calls');
    await runningTask(env, 't', 2);
    await pilotWithQueue(env, 'p');
    await env.fixture.repos.pilots.heartbeat({
      pilotId: 'p',
      busySlots: 0,
      at: env.deps.clock!().toISOString(),
    });
    env.fixture.calls.reset();

    const report = await runWatchdog({
      ...env.deps,
      settings: { ...env.deps.settings, auditTasks: 1, auditObjects: 10 },
    });

    const calls = env.fixture.calls.count();
    console.info(
      `watchdog run (quiet, audit of 1 task): ${calls} AWS calls`,
      JSON.stringify(env.fixture.calls.snapshot()),
    );
    expect(report.stoppedEarly).toBe(false);
    // 20 before counter shards; each read of tasks now also reads their shards.
    expect(calls).toBeLessThanOrEqual(23);
  });

  it('stops between steps once its deadline signal fired', async () => {
    const env = await scenario('deadline');
    await runningTask(env, 't', 1, { rank: 2 });
    const controller = new AbortController();
    controller.abort();

    const report = await runWatchdog({ ...env.deps, signal: controller.signal });

    expect(report).toMatchObject({ stoppedEarly: true, ranksChanged: 0 });
  });
});
