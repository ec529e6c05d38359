import { Logger } from '@aws-lambda-powertools/logger';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import type { Context, SQSEvent } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { toSqsEventRecord } from '../../infra/local/index.js';
import {
  newFile,
  type RepositoryFixture,
  repositoryFixture,
  taskSpec,
  uniquePrefix,
} from '../../test/support/index.js';
import { DEAD_LETTER_ATTRIBUTES } from '../common/index.js';
import { createJobGeneratorHandler, type JobGeneratorDeps } from './handler.js';

/** Received messages as Lambda's SQS event source passes them (the embedded runtime's record builder). */
function sqsEvent(messages: readonly Message[], queueArn: string): SQSEvent {
  return {
    Records: messages.map((message) => toSqsEventRecord(message, queueArn, 'us-east-1')),
  } as unknown as SQSEvent;
}

const context = {
  functionName: 'job-generator',
  awsRequestId: 'r-1',
  getRemainingTimeInMillis: () => 240_000,
} as Context;
let fixture: RepositoryFixture;
let queue: { url: string; arn: string; deadLetter: string };
let counter = 0;

async function createQueue(name: string): Promise<{ url: string; arn: string }> {
  const { sqs } = fixture.clients;
  const url = (await sqs.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl!;
  const attributes = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
  );
  return { url, arn: attributes.Attributes!.QueueArn! };
}

beforeAll(async () => {
  fixture = await repositoryFixture('fn-job-generator');
  const prefix = uniquePrefix('generation');
  queue = {
    ...(await createQueue(`${prefix}-generation`)),
    deadLetter: (await createQueue(`${prefix}-dlq`)).url,
  };
});

function deps(filesPerInvocation: number): JobGeneratorDeps {
  return {
    repos: fixture.repos,
    sqs: fixture.clients.sqs,
    logger: new Logger({ logLevel: 'SILENT' }),
    queue: {
      SOURCE_QUEUE_URL: queue.url,
      DEAD_LETTER_QUEUE_URL: queue.deadLetter,
      SOURCE_MAX_RECEIVE_COUNT: 5,
    },
    jobGenerationQueueUrl: queue.url,
    filesPerInvocation,
    maxPageSize: 25,
    reserveMs: 30_000,
  };
}

async function receiveOne(url: string): Promise<Message | undefined> {
  const response = await fixture.clients.sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: url,
      MaxNumberOfMessages: 1,
      WaitTimeSeconds: 1,
      MessageSystemAttributeNames: ['All'],
      MessageAttributeNames: ['All'],
    }),
  );
  return response.Messages?.[0];
}

/** Takes the next message of the generation queue as a one-record batch, deleting it as Lambda would on success. */
async function nextBatch(): Promise<SQSEvent | undefined> {
  const message = await receiveOne(queue.url);
  if (!message) return undefined;
  await fixture.clients.sqs.send(
    new DeleteMessageCommand({ QueueUrl: queue.url, ReceiptHandle: message.ReceiptHandle! }),
  );
  return sqsEvent([message], queue.arn);
}

/** A closed input dataset of `fileCount` files and a RUNNING task reading it. */
async function runningTask(fileCount: number): Promise<string> {
  counter += 1;
  const datasetUid = `ds-generator-${counter}`;
  await fixture.repos.datasets.create({ uid: datasetUid, name: datasetUid, kind: 'input' });
  const files = Array.from({ length: fileCount }, (_, index) =>
    newFile(datasetUid, `f-${String(index).padStart(4, '0')}.raw`),
  );
  for (let start = 0; start < files.length; start += 99)
    await fixture.repos.files.registerMany(files.slice(start, start + 99));
  await fixture.repos.datasets.close(datasetUid);
  const taskId = `t-generator-${counter}`;
  await fixture.repos.tasks.create(taskId, taskSpec({ inputDatasetUid: datasetUid }));
  await fixture.repos.tasks.transition({ taskId, from: 'REGISTERED', to: 'RUNNING' });
  return taskId;
}

describe('job-generator handler', () => {
  it('generates a task’s jobs over continuation messages on its own queue, then marks generation complete', async () => {
    const taskId = await runningTask(120);
    const handler = createJobGeneratorHandler(deps(50));
    await fixture.clients.sqs.send(
      new SendMessageCommand({ QueueUrl: queue.url, MessageBody: JSON.stringify({ taskId }) }),
    );
    fixture.calls.reset();

    let passes = 0;
    for (let batch = await nextBatch(); batch; batch = await nextBatch()) {
      const response = await handler(batch, context);
      expect(response.batchItemFailures).toEqual([]);
      passes += 1;
    }

    const generationCalls = fixture.calls
      .snapshot()
      .filter(
        (call) => !(call.service === 'SQS' && ['ReceiveMessage', 'DeleteMessage'].includes(call.operation)),
      );
    const total = generationCalls.reduce((sum, call) => sum + call.calls, 0);
    console.log(
      `job-generator: ${total / 120} AWS calls per job (pages of 25 files):`,
      generationCalls.map((call) => `${call.service}:${call.operation}=${call.calls}`).join(', '),
    );
    expect(passes).toBe(3);
    expect(await fixture.repos.tasks.get(taskId)).toMatchObject({
      jobsTotal: 120,
      counts: { READY: 120 },
      generationComplete: true,
    });
  });

  it('dead-letters a message that is not a job-generation message', async () => {
    const handler = createJobGeneratorHandler(deps(50));
    await fixture.clients.sqs.send(
      new SendMessageCommand({ QueueUrl: queue.url, MessageBody: '{"task":"t-1"}' }),
    );

    const response = await handler((await nextBatch())!, context);

    expect(response.batchItemFailures).toEqual([]);
    const dead = await receiveOne(queue.deadLetter);
    expect(dead?.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.code]?.StringValue).toBe('VALIDATION');
    expect(dead?.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.reason]?.StringValue).toContain('body.taskId');
  });
});
