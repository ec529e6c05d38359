import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { type AwsClients, createAwsClients } from '../../shared/aws/index.js';
import { datasetUidFor } from '../../shared/ids/index.js';
import { createRepositories, type Repositories } from '../../shared/repositories/index.js';
import { eventually, fileRef, newFile, taskSpec } from '../../test/support/index.js';
import {
  createFunctionResources,
  drainQueue,
  type FunctionResources,
  lambdaContext,
  sqsEventOf,
} from '../api/test-support.js';
import { DEAD_LETTER_ATTRIBUTES } from '../common/index.js';

type Handler = (event: SQSEvent, context: unknown) => Promise<SQSBatchResponse>;

let clients: AwsClients;
let resources: FunctionResources;
let repos: Repositories;
let handler: Handler;
let counter = 0;

beforeAll(async () => {
  clients = createAwsClients();
  resources = await createFunctionResources('task-commands', clients);
  repos = createRepositories({ doc: clients.doc, tables: resources.tables });
  Object.assign(process.env, resources.env, { POWERTOOLS_LOG_LEVEL: 'SILENT' });
  ({ handler } = (await import('./index.js')) as { handler: Handler });
});

function nextIds() {
  counter += 1;
  return {
    taskId: `t-cmd-${counter}`,
    input: `ds-cmd-in-${counter}`,
    output: `cmd-out-${counter}`,
    log: `cmd-log-${counter}`,
  };
}

function submitted(ids: ReturnType<typeof nextIds>, overrides: Parameters<typeof taskSpec>[0] = {}) {
  return {
    taskId: ids.taskId,
    ...taskSpec({ inputDatasetUid: ids.input, outputDataset: ids.output, logDataset: ids.log, ...overrides }),
  };
}

/** Puts events on the bus as the WfMS or an operator does. */
async function putEvents(
  ...entries: { detailType: string; detail: unknown; source?: string }[]
): Promise<void> {
  const response = await clients.eventBridge.send(
    new PutEventsCommand({
      Entries: entries.map((entry) => ({
        EventBusName: resources.eventBusName,
        Source: entry.source ?? 'spd.wfms',
        DetailType: entry.detailType,
        Detail: JSON.stringify(entry.detail),
      })),
    }),
  );
  expect(response.FailedEntryCount ?? 0).toBe(0);
}

/** Receives the commands the bus routed to the queue (waiting for `count` of them). */
async function receive(count: number): Promise<Message[]> {
  const received: Message[] = [];
  await eventually(async () => {
    const { Messages = [] } = await clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: resources.queues.taskCommands,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    received.push(...Messages);
    expect(received.length).toBeGreaterThanOrEqual(count);
  });
  return received;
}

/**
 * Hands messages to the handler as the event source mapping does, and like it deletes those
 * not reported as failed. `receiveCount` stands for a later delivery of the same messages.
 */
async function deliver(
  messages: readonly Message[],
  options: { receiveCount?: number; remainingMs?: number } = {},
): Promise<SQSBatchResponse> {
  const event = sqsEventOf(messages, resources.queues.taskCommandsArn);
  if (options.receiveCount !== undefined) {
    for (const record of event.Records)
      record.attributes.ApproximateReceiveCount = String(options.receiveCount);
  }
  const response = await handler(event, lambdaContext('task-commands', options.remainingMs));
  const failed = new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier));
  const done = messages.filter((message) => !failed.has(message.MessageId!));
  if (done.length > 0) {
    await clients.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: resources.queues.taskCommands,
        Entries: done.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle! })),
      }),
    );
  }
  return response;
}

async function deadLetters() {
  const messages = await drainQueue(clients.sqs, resources.queues.taskCommandsDeadLetter);
  return messages.map((message) => ({
    body: JSON.parse(message.Body!),
    code: message.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.code]?.StringValue,
    reason: message.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.reason]?.StringValue,
  }));
}

describe('task-commands', () => {
  it('registers a submitted task once, however often the event arrives', async () => {
    // Prepare
    const ids = nextIds();
    await putEvents(
      { detailType: 'task.submitted', detail: submitted(ids) },
      { detailType: 'task.submitted', detail: submitted(ids) },
    );

    // Act
    const response = await deliver(await receive(2));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(await repos.tasks.get(ids.taskId)).toMatchObject({ state: 'REGISTERED', version: 0 });
    expect(await repos.datasets.get(datasetUidFor(ids.output))).toMatchObject({ producerTaskId: ids.taskId });
  });

  it('defers a cancel that arrives before its task, then applies it once the task exists', async () => {
    // Prepare
    const ids = nextIds();
    await putEvents({
      detailType: 'task.cancel',
      detail: { taskId: ids.taskId, reason: 'operator request' },
    });
    const cancel = await receive(1);

    // Act
    const early = await deliver(cancel);
    await putEvents({ detailType: 'task.submitted', detail: submitted(ids) });
    await deliver(await receive(1));
    const later = await deliver(cancel, { receiveCount: 2 });

    // Assess
    expect(early.batchItemFailures).toEqual([{ itemIdentifier: cancel[0]!.MessageId }]);
    expect(later.batchItemFailures).toEqual([]);
    expect((await repos.tasks.get(ids.taskId)).state).toBe('CANCELLED');
  });

  it('dead-letters a cancel of a task that never came, with the reason, on its last delivery', async () => {
    const ids = nextIds();
    await putEvents({ detailType: 'task.cancel', detail: { taskId: ids.taskId, reason: 'typo' } });
    const response = await deliver(await receive(1), { receiveCount: 3 });
    expect(response.batchItemFailures).toEqual([]);
    expect(await deadLetters()).toEqual([
      {
        body: expect.objectContaining({ detail: { taskId: ids.taskId, reason: 'typo' } }),
        code: 'DEFERRED_TOO_LONG',
        reason: `task ${ids.taskId} is not registered`,
      },
    ]);
  });

  it('sets the rank of a task, and ignores a rank for a task that has ended', async () => {
    const ids = nextIds();
    await putEvents({ detailType: 'task.submitted', detail: submitted(ids) });
    await deliver(await receive(1));
    await putEvents({
      detailType: 'task.priority',
      detail: { taskId: ids.taskId, rank: 77 },
      source: 'spd.operator',
    });
    await deliver(await receive(1));
    expect(await repos.tasks.get(ids.taskId)).toMatchObject({ rank: 77, baseRank: 77 });
    await repos.tasks.transition({ taskId: ids.taskId, from: 'REGISTERED', to: 'CANCELLED' });
    await putEvents({ detailType: 'task.priority', detail: { taskId: ids.taskId, rank: 3 } });
    expect((await deliver(await receive(1))).batchItemFailures).toEqual([]);
    expect((await repos.tasks.get(ids.taskId)).rank).toBe(77);
  });

  it('dead-letters an invalid command and a conflicting resubmission at once, with their reasons', async () => {
    const ids = nextIds();
    await putEvents({ detailType: 'task.submitted', detail: submitted(ids) });
    await deliver(await receive(1));
    await putEvents(
      { detailType: 'task.submitted', detail: submitted(ids, { executable: '/opt/spd/bin/other' }) },
      { detailType: 'task.priority', detail: { taskId: ids.taskId, rank: 0 } },
    );
    const response = await deliver(await receive(2));
    expect(response.batchItemFailures).toEqual([]);
    const letters = await deadLetters();
    expect(letters).toHaveLength(2);
    expect(letters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          code: 'TaskSpecConflictError',
          reason: expect.stringContaining('executable'),
        }),
        expect.objectContaining({ code: 'VALIDATION', reason: expect.stringContaining('body.detail.rank') }),
      ]),
    );
  });

  it('continues a cancellation its deadline stopped through a new command on the bus', async () => {
    // Prepare: a RUNNING task with 3 READY jobs
    const ids = nextIds();
    await repos.datasets.create({ uid: ids.input, name: ids.input, kind: 'input' });
    await repos.files.register(newFile(ids.input, 'a.raw'));
    await repos.datasets.close(ids.input);
    await putEvents({ detailType: 'task.submitted', detail: submitted(ids) });
    await deliver(await receive(1));
    const task = await repos.tasks.get(ids.taskId);
    await repos.jobs.createJobs(
      task,
      ['a', 'b', 'c'].map((name) => ({ jobId: `${ids.taskId}-${name}`, inputs: [fileRef(`${name}.raw`)] })),
    );
    await putEvents({
      detailType: 'task.cancel',
      detail: { taskId: ids.taskId, reason: 'bad input' },
      source: 'spd.operator',
    });

    // Act: the first delivery starts with too little time left, the continuation with enough
    const first = await deliver(await receive(1), { remainingMs: 1_000 });
    const afterFirst = await repos.tasks.get(ids.taskId);
    const continuation = await receive(1);
    await deliver(continuation);

    // Assess
    expect(first.batchItemFailures).toEqual([]);
    expect(afterFirst).toMatchObject({ state: 'CANCELLED', counts: { READY: 3, CANCELLED: 0 } });
    expect(JSON.parse(continuation[0]!.Body!)).toMatchObject({
      source: 'spd.operator',
      'detail-type': 'task.cancel',
      detail: { taskId: ids.taskId, reason: 'bad input' },
    });
    expect((await repos.tasks.get(ids.taskId)).counts).toMatchObject({ READY: 0, CANCELLED: 3 });
  });

  it('dead-letters a message that is not an EventBridge event, naming what is wrong', async () => {
    await clients.sqs.send(
      new SendMessageCommand({ QueueUrl: resources.queues.taskCommands, MessageBody: '{"id": 1}' }),
    );
    expect((await deliver(await receive(1))).batchItemFailures).toEqual([]);
    const [letter] = await deadLetters();
    expect(letter).toMatchObject({ code: 'VALIDATION', reason: expect.stringContaining('body') });
  });
});
