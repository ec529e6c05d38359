import { CreateQueueCommand, DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  fileRef,
  newFile,
  type RepositoryFixture,
  repositoryFixture,
  taskSpec,
} from '../../test/support/index.js';
import { planJobs } from '../jobgen/index.js';
import type { TaskRecord, TaskSpec } from '../model/index.js';
import {
  createStreamingJobs,
  type EnqueueJobGeneration,
  type GenerationLimits,
  generateJobs,
  startTasksReading,
} from './generation.js';
import { JobGenerationMessage, sendJobGenerationMessage } from './job-generation-message.js';

let fixture: RepositoryFixture;
let queueUrl: string;
let enqueue: EnqueueJobGeneration;
let counter = 0;
const unlimited: GenerationLimits = {
  filesPerInvocation: 1_000_000,
  maxPageSize: 10,
  remainingMs: () => 60_000,
  reserveMs: 1_000,
};

beforeAll(async () => {
  fixture = await repositoryFixture('svc-generation');
  const { sqs } = fixture.clients;
  queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `${fixture.tables.tasks}-generation` })))
    .QueueUrl!;
  enqueue = (message) => sendJobGenerationMessage(sqs, queueUrl, message);
});

/** Every job-generation message waiting on the queue, removed from it. */
async function takeMessages(): Promise<JobGenerationMessage[]> {
  const messages: JobGenerationMessage[] = [];
  for (;;) {
    const { Messages = [] } = await fixture.clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    if (Messages.length === 0) return messages;
    messages.push(...Messages.map((message) => JobGenerationMessage.parse(JSON.parse(message.Body!))));
    await fixture.clients.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: Messages.map((message, index) => ({
          Id: String(index),
          ReceiptHandle: message.ReceiptHandle!,
        })),
      }),
    );
  }
}

const fileName = (index: number) => `run42_${String(index).padStart(5, '0')}.raw`;

/** An input dataset of `fileCount` files (closed unless told) and a RUNNING task reading it. */
async function taskOnDataset(
  fileCount: number,
  spec: Partial<z.input<typeof TaskSpec>> = {},
  options: { close?: boolean } = {},
): Promise<TaskRecord> {
  counter += 1;
  const datasetUid = `ds-gen-${counter}`;
  await fixture.repos.datasets.create({ uid: datasetUid, name: datasetUid, kind: 'input' });
  const files = Array.from({ length: fileCount }, (_, index) => newFile(datasetUid, fileName(index)));
  for (let start = 0; start < files.length; start += 99) {
    await fixture.repos.files.registerMany(files.slice(start, start + 99));
  }
  if (options.close ?? true) await fixture.repos.datasets.close(datasetUid);
  const taskId = `t-gen-${counter}`;
  await fixture.repos.tasks.create(taskId, taskSpec({ inputDatasetUid: datasetUid, ...spec }));
  return (await fixture.repos.tasks.transition({ taskId, from: 'REGISTERED', to: 'RUNNING' })).task;
}

async function jobInputs(taskId: string): Promise<string[][]> {
  const inputs: string[][] = [];
  let cursor: string | undefined;
  do {
    const page = await fixture.repos.jobs.listByTask(taskId, { limit: 1000, cursor });
    inputs.push(...page.items.map((job) => job.inputs.map((file) => file.name)));
    cursor = page.cursor;
  } while (cursor !== undefined);
  return inputs.sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
}

describe('generateJobs', () => {
  it('makes one READY job per file of a closed dataset in map mode and marks generation complete', async () => {
    const task = await taskOnDataset(5);

    const outcome = await generateJobs(fixture.repos, enqueue, { taskId: task.taskId }, unlimited);

    expect(outcome).toEqual({ status: 'complete', created: 5, existing: 0 });
    expect(await jobInputs(task.taskId)).toEqual([0, 1, 2, 3, 4].map((index) => [fileName(index)]));
    expect(await fixture.repos.tasks.get(task.taskId)).toMatchObject({
      jobsTotal: 5,
      counts: { READY: 5 },
      generationComplete: true,
    });
  });

  it('creates nothing twice when the same generation runs again', async () => {
    const task = await taskOnDataset(7, { mode: 'merge', filesPerJob: 3 });

    await generateJobs(fixture.repos, enqueue, { taskId: task.taskId }, unlimited);
    const again = await generateJobs(fixture.repos, enqueue, { taskId: task.taskId }, unlimited);

    expect(again).toEqual({ status: 'complete', created: 0, existing: 3 });
    expect(await fixture.repos.tasks.get(task.taskId)).toMatchObject({ jobsTotal: 3, counts: { READY: 3 } });
  });

  it('hands the rest to continuation messages at page boundaries and ends with every merge chunk once', async () => {
    const task = await taskOnDataset(45, { mode: 'merge', filesPerJob: 4 });
    const budget: GenerationLimits = { ...unlimited, filesPerInvocation: 20 };

    const first = await generateJobs(fixture.repos, enqueue, { taskId: task.taskId }, budget);
    const passes = [first];
    for (let message = (await takeMessages())[0]; message; message = (await takeMessages())[0]) {
      passes.push(await generateJobs(fixture.repos, enqueue, message, budget));
    }

    // Pages of 8 files (two chunks): 24 files in the first pass, 21 with the last partial chunk in the second.
    expect(passes).toEqual([
      { status: 'continued', cursor: expect.any(String), created: 6, existing: 0 },
      { status: 'complete', created: 6, existing: 0 },
    ]);
    const expected = planJobs(
      { taskId: task.taskId, mode: 'merge', filesPerJob: 4 },
      Array.from({ length: 45 }, (_, index) => fileRef(fileName(index))),
      { final: true },
    ).jobs.map((job) => job.inputs.map((file) => file.name));
    expect(await jobInputs(task.taskId)).toEqual(expected);
    expect(await fixture.repos.tasks.get(task.taskId)).toMatchObject({
      jobsTotal: 12,
      generationComplete: true,
    });
  });

  it('continues when the invocation runs out of time', async () => {
    const task = await taskOnDataset(11);
    const late: GenerationLimits = { ...unlimited, remainingMs: () => 500 };

    const outcome = await generateJobs(fixture.repos, enqueue, { taskId: task.taskId }, late);

    expect(outcome).toMatchObject({ status: 'continued', created: 10 });
    expect(await takeMessages()).toEqual([
      { taskId: task.taskId, cursor: (outcome as { cursor: string }).cursor },
    ]);
    expect((await fixture.repos.tasks.get(task.taskId)).generationComplete).toBe(false);
  });

  it('catches a streaming map task up with an open dataset without completing it', async () => {
    const task = await taskOnDataset(3, { streaming: true }, { close: false });

    const outcome = await generateJobs(fixture.repos, enqueue, { taskId: task.taskId }, unlimited);

    expect(outcome).toEqual({ status: 'caught-up', created: 3, existing: 0 });
    expect((await fixture.repos.tasks.get(task.taskId)).generationComplete).toBe(false);
  });

  it('waits for the close of the input of a merge or non-streaming task', async () => {
    const merge = await taskOnDataset(
      3,
      { streaming: true, mode: 'merge', filesPerJob: 2 },
      { close: false },
    );
    const batch = await taskOnDataset(3, {}, { close: false });

    const mergeOutcome = await generateJobs(fixture.repos, enqueue, { taskId: merge.taskId }, unlimited);
    const batchOutcome = await generateJobs(fixture.repos, enqueue, { taskId: batch.taskId }, unlimited);

    expect(mergeOutcome.status).toBe('waiting');
    expect(batchOutcome.status).toBe('waiting');
    expect((await fixture.repos.tasks.get(merge.taskId)).jobsTotal).toBe(0);
  });

  it('makes nothing for a cancelled task', async () => {
    const task = await taskOnDataset(2);
    await fixture.repos.tasks.transition({ taskId: task.taskId, from: 'RUNNING', to: 'CANCELLED' });

    const outcome = await generateJobs(fixture.repos, enqueue, { taskId: task.taskId }, unlimited);

    expect(outcome).toEqual({ status: 'not-generating', state: 'CANCELLED' });
    expect((await fixture.repos.tasks.get(task.taskId)).jobsTotal).toBe(0);
  });
});

describe('createStreamingJobs', () => {
  it('makes the job of a new file for each streaming map task, once', async () => {
    const streaming = await taskOnDataset(0, { streaming: true }, { close: false });
    const merge = await taskOnDataset(
      0,
      { streaming: true, mode: 'merge', filesPerJob: 2 },
      { close: false },
    );
    const file = fileRef('late.raw');

    const first = await createStreamingJobs(
      fixture.repos.jobs,
      [streaming, merge],
      streaming.inputDatasetUid,
      file,
    );
    const again = await createStreamingJobs(fixture.repos.jobs, [streaming], streaming.inputDatasetUid, file);

    expect(first).toEqual([{ taskId: streaming.taskId, jobId: expect.any(String), created: true }]);
    expect(again).toEqual([{ ...first[0], created: false }]);
    expect((await fixture.repos.tasks.get(streaming.taskId)).jobsTotal).toBe(1);
  });
});

describe('startTasksReading', () => {
  it('starts the registered tasks, asks generation for them and for running tasks not fully generated', async () => {
    counter += 1;
    const datasetUid = `ds-start-${counter}`;
    const waiting = `t-start-${counter}-waiting`;
    const streaming = `t-start-${counter}-streaming`;
    const done = `t-start-${counter}-generated`;
    await fixture.repos.tasks.create(waiting, taskSpec({ inputDatasetUid: datasetUid }));
    for (const taskId of [streaming, done]) {
      await fixture.repos.tasks.create(taskId, taskSpec({ inputDatasetUid: datasetUid, streaming: true }));
      await fixture.repos.tasks.transition({ taskId, from: 'REGISTERED', to: 'RUNNING' });
    }
    await fixture.repos.tasks.markGenerationComplete(done);
    await takeMessages();

    const first = await startTasksReading(fixture.repos.tasks, enqueue, datasetUid);
    const again = await startTasksReading(fixture.repos.tasks, enqueue, datasetUid);

    expect(first).toEqual({ started: [waiting], generating: expect.arrayContaining([waiting, streaming]) });
    expect(first.generating).toHaveLength(2);
    expect(again.started).toEqual([]);
    expect((await fixture.repos.tasks.get(waiting)).state).toBe('RUNNING');
    const messages = await takeMessages();
    expect(messages.map((message) => message.taskId).sort()).toEqual(
      [streaming, streaming, waiting, waiting].sort(),
    );
  });
});
