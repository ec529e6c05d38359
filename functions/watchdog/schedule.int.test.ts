/**
 * The watchdog (and the rank-updater and dispatcher it sets in motion) in the embedded
 * control plane, on a schedule scaled to run every 3 s and pilots lost after 3 s of silence.
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobMessage } from '../../events/index.js';
import { awsClients } from '../../shared/aws/index.js';
import { planJobs } from '../../shared/jobgen/index.js';
import { counterShardKey } from '../../shared/repositories/counter-shards.js';
import { createRepositories, type Repositories } from '../../shared/repositories/index.js';
import {
  type ControlPlane,
  eventually,
  fileRef,
  pilotRegistration,
  readTableStream,
  startControlPlane,
  taskSpec,
  uniquePrefix,
} from '../../test/support/index.js';

let plane: ControlPlane;
let repos: Repositories;

beforeAll(async () => {
  plane = await startControlPlane({
    scheduleScale: 0.05,
    tunables: {
      PILOT_LOST_AFTER_SECONDS: '3',
      DISPATCH_HEADROOM_FRACTION: '0',
      RANK_ALPHA: '0',
      RANK_BETA: '2',
    },
  });
  repos = createRepositories({ doc: awsClients().doc, tables: plane.tables });
}, 120_000);

afterAll(async () => {
  await plane?.stop();
});

async function runningTask(count: number) {
  const taskId = uniquePrefix('t');
  const { task } = await repos.tasks.create(
    taskId,
    taskSpec({ rank: 2, outputDataset: `${taskId}-out`, logDataset: `${taskId}-logs` }),
  );
  await repos.tasks.transition({ taskId, from: 'REGISTERED', to: 'RUNNING' });
  const files = Array.from({ length: count }, (_, index) => fileRef(`${taskId}_${index}.raw`));
  await repos.jobs.createJobs(
    task,
    planJobs({ taskId, mode: 'map', filesPerJob: 1 }, files, { final: true }).jobs,
  );
  return taskId;
}

/** Receives the CPU queue's messages until `count` of the task's have arrived. */
async function takeMessages(taskId: string, count: number): Promise<JobMessage[]> {
  const sqs = awsClients().sqs;
  const taken: JobMessage[] = [];
  return eventually(
    async () => {
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
            Entries: mine.map((message, index) => ({
              Id: String(index),
              ReceiptHandle: message.ReceiptHandle!,
            })),
          }),
        );
      }
      taken.push(...mine.map((message) => JobMessage.parse(JSON.parse(message.Body!))));
      expect(taken).toHaveLength(count);
      return taken;
    },
    { timeoutMs: 15_000 },
  );
}

/** Heartbeats a pilot every half second until stopped, as a live pilot does. */
function keepAlive(pilotId: string): () => void {
  const timer = setInterval(() => {
    void repos.pilots.heartbeat({ pilotId, busySlots: 1, at: new Date().toISOString() });
  }, 500);
  return () => clearInterval(timer);
}

describe('the watchdog on its schedule', () => {
  it('declares a silent pilot LOST; its job is retried, its task boosted and the job dispatched again', async () => {
    // Prepare: two jobs dispatched, one claimed by a pilot that then falls silent.
    const silent = uniquePrefix('silent');
    const alive = uniquePrefix('alive');
    await repos.pilots.register(pilotRegistration(silent, { slots: 1 }));
    await repos.pilots.register(pilotRegistration(alive, { slots: 2 }));
    const stopHeartbeats = keepAlive(alive);
    try {
      const taskId = await runningTask(2);
      const [lostJob, keptJob] = await takeMessages(taskId, 2);
      await repos.jobs.claim({ ...lostJob!, pilotId: silent });
      await repos.jobs.claim({ ...keptJob!, pilotId: alive });

      // Act: nothing but time; the silent pilot sends no heartbeat.
      const redispatched = await takeMessages(taskId, 1);

      // Assess
      expect(redispatched[0]).toMatchObject({ jobId: lostJob!.jobId, attempt: 1 });
      expect(await repos.pilots.get(silent)).toMatchObject({ state: 'LOST' });
      expect(await repos.pilots.get(alive)).toMatchObject({ state: 'ACTIVE' });
      expect(await repos.jobs.get(lostJob!.jobId)).toMatchObject({
        state: 'QUEUED',
        attempt: 1,
        errorCode: 1501,
      });
      expect(await repos.jobs.get(keptJob!.jobId)).toMatchObject({ state: 'RUNNING', attempt: 0 });
      // The retry raised the task's rank (base 2, + 2 for one retry) before aging brought it back.
      await eventually(
        async () => {
          const ranks = (await readTableStream(awsClients(), plane.tables.tasks))
            .filter((change) => change.keys.taskId === taskId)
            .map((change) => change.newImage?.rank);
          expect(ranks).toContain(4);
        },
        { timeoutMs: 15_000 },
      );
    } finally {
      stopHeartbeats();
    }
  });

  it('audits RUNNING tasks and repairs a corrupted counter', async () => {
    const taskId = await runningTask(1);
    await awsClients().doc.send(
      new UpdateCommand({
        TableName: plane.tables.tasks,
        Key: counterShardKey(taskId, 0),
        UpdateExpression: 'SET #counts.#failed = :two',
        ExpressionAttributeNames: { '#counts': 'counts', '#failed': 'FAILED' },
        ExpressionAttributeValues: { ':two': 2 },
      }),
    );

    await eventually(async () => expect((await repos.tasks.get(taskId)).counts.FAILED).toBe(0), {
      timeoutMs: 20_000,
    });
  });
});
