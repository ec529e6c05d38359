/**
 * The dispatcher in the embedded control plane, driven by its real event sources. Schedules
 * run at their real period (a minute), so within these tests only the stream triggers act.
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobMessage } from '../../events/index.js';
import { awsClients } from '../../shared/aws/index.js';
import { planJobs } from '../../shared/jobgen/index.js';
import type { JobRecord } from '../../shared/model/index.js';
import { createRepositories, type Repositories } from '../../shared/repositories/index.js';
import {
  type ControlPlane,
  eventually,
  fileRef,
  pilotRegistration,
  startControlPlane,
  taskSpec,
  uniquePrefix,
} from '../../test/support/index.js';

let plane: ControlPlane;
let repos: Repositories;

beforeAll(async () => {
  plane = await startControlPlane({ tunables: { DISPATCH_HEADROOM_FRACTION: '0' } });
  repos = createRepositories({ doc: awsClients().doc, tables: plane.tables });
  await warmDispatcher();
}, 120_000);

/** A pilot registration invokes the dispatcher once, so its cold start is not timed below. */
async function warmDispatcher(): Promise<void> {
  const pilotId = uniquePrefix('warm-up');
  await repos.pilots.register(pilotRegistration(pilotId, { slots: 1 }));
  await eventually(
    () => {
      const stats = plane.runtime.stats().functions.dispatcher;
      expect(stats?.invocations).toBeGreaterThan(0);
      expect(stats?.running).toBe(0);
    },
    { timeoutMs: 30_000 },
  );
  await retire(pilotId);
}

afterAll(async () => {
  await plane?.stop();
});

/** A RUNNING task with `count` READY jobs; creating them is what the Jobs stream carries. */
async function runningTask(count: number): Promise<{ taskId: string; jobs: JobRecord[] }> {
  const taskId = uniquePrefix('t');
  const { task } = await repos.tasks.create(
    taskId,
    taskSpec({ outputDataset: `${taskId}-out`, logDataset: `${taskId}-logs` }),
  );
  await repos.tasks.transition({ taskId, from: 'REGISTERED', to: 'RUNNING' });
  const files = Array.from({ length: count }, (_, index) => fileRef(`${taskId}_${index}.raw`));
  const plan = planJobs({ taskId, mode: 'map', filesPerJob: 1 }, files, { final: true });
  await repos.jobs.createJobs(task, plan.jobs);
  return { taskId, jobs: await repos.jobs.getMany(plan.jobs.map((job) => job.jobId)) };
}

async function countsOf(taskId: string) {
  return (await repos.tasks.get(taskId)).counts;
}

/** Receives the CPU queue's messages of one task (leaving others') and deletes them. */
async function takeMessages(taskId: string): Promise<JobMessage[]> {
  const sqs = awsClients().sqs;
  const received = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: plane.queueUrls.jobsCpu,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 1,
    }),
  );
  const mine = (received.Messages ?? []).filter(
    (message) => JobMessage.parse(JSON.parse(message.Body!)).taskId === taskId,
  );
  if (mine.length > 0) {
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: plane.queueUrls.jobsCpu,
        Entries: mine.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle! })),
      }),
    );
  }
  return mine.map((message) => JobMessage.parse(JSON.parse(message.Body!)));
}

/** Runs a queued job to DONE under `pilotId`, as a pilot would. */
async function complete(
  job: { jobId: string; taskId: string; attempt: number },
  pilotId: string,
): Promise<void> {
  const claimToken = await repos.jobs.claim({ ...job, pilotId });
  await repos.jobs.complete({ ...job, claimToken, outputs: [] });
}

/** Ends a test's pilots so their slots do not count in the next test. */
async function retire(...pilotIds: string[]): Promise<void> {
  for (const pilotId of pilotIds) await repos.pilots.transition({ pilotId, from: 'ACTIVE', to: 'EXITED' });
}

describe('the dispatcher on its stream triggers', () => {
  it('dispatches a new READY job within about a second of its creation', async () => {
    // Prepare
    const pilotId = uniquePrefix('p');
    await repos.pilots.register(pilotRegistration(pilotId, { slots: 1 }));

    // Act
    const started = Date.now();
    const { taskId, jobs } = await runningTask(1);
    await eventually(async () => expect((await repos.jobs.get(jobs[0]!.jobId)).state).toBe('QUEUED'), {
      timeoutMs: 10_000,
      intervalMs: 50,
    });
    const latencyMs = Date.now() - started;

    // Assess
    console.info(`READY → QUEUED through the Jobs stream: ${latencyMs} ms`);
    expect(latencyMs).toBeLessThan(3_000);
    const [message] = await takeMessagesEventually(taskId, 1);
    expect(message).toMatchObject({ jobId: jobs[0]!.jobId, attempt: 0, output: { bucket: plane.bucket } });
    await complete(jobs[0]!, pilotId);
    await retire(pilotId);
  });

  it('dispatches jobs that wait for slots when a pilot registers', async () => {
    // Prepare: READY jobs and no live pilot.
    const { taskId } = await runningTask(3);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(await countsOf(taskId)).toMatchObject({ READY: 3, QUEUED: 0 });
    const pilotId = uniquePrefix('p');

    // Act
    await repos.pilots.register(pilotRegistration(pilotId, { slots: 2 }));

    // Assess
    await eventually(async () => expect(await countsOf(taskId)).toMatchObject({ READY: 1, QUEUED: 2 }), {
      timeoutMs: 10_000,
    });
    const messages = await takeMessagesEventually(taskId, 2);
    for (const message of messages) await complete(message, pilotId);
    await eventually(
      async () => expect(await countsOf(taskId)).toMatchObject({ READY: 0, QUEUED: 1, DONE: 2 }),
      {
        timeoutMs: 10_000,
      },
    );
    await complete((await takeMessagesEventually(taskId, 1))[0]!, pilotId);
    await retire(pilotId);
  });

  it('sends the next job as soon as a running one finishes and frees its slot', async () => {
    const pilotId = uniquePrefix('p');
    await repos.pilots.register(pilotRegistration(pilotId, { slots: 1 }));
    const { taskId } = await runningTask(2);
    const [first] = await takeMessagesEventually(taskId, 1);
    const claimToken = await repos.jobs.claim({ ...first!, pilotId });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await countsOf(taskId)).toMatchObject({ READY: 1, RUNNING: 1 });

    await repos.jobs.complete({ ...first!, claimToken, outputs: [] });

    const [second] = await takeMessagesEventually(taskId, 1);
    expect(second?.jobId).not.toBe(first?.jobId);
    await complete(second!, pilotId);
    await retire(pilotId);
  });
});

/** Takes the task's messages until `count` have arrived. */
async function takeMessagesEventually(taskId: string, count: number): Promise<JobMessage[]> {
  const taken: JobMessage[] = [];
  return eventually(
    async () => {
      taken.push(...(await takeMessages(taskId)));
      expect(taken).toHaveLength(count);
      return taken;
    },
    { timeoutMs: 10_000 },
  );
}
