import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
} from '@aws-sdk/client-sqs';
import type { Context, SQSEvent } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import type { FileInputDetail } from '../../events/index.js';
import { toSqsEventRecord } from '../../infra/local/index.js';
import {
  fileRef,
  type RepositoryFixture,
  repositoryFixture,
  sha256Of,
  taskSpec,
  uniquePrefix,
} from '../../test/support/index.js';
import { DEAD_LETTER_ATTRIBUTES } from '../common/index.js';
import { createFileInputHandler, type FileInputDeps } from './handler.js';

/** Received messages as Lambda's SQS event source passes them (the embedded runtime's record builder). */
function sqsEvent(messages: readonly Message[], queueArn: string): SQSEvent {
  return {
    Records: messages.map((message) => toSqsEventRecord(message, queueArn, 'us-east-1')),
  } as unknown as SQSEvent;
}

const context = {
  functionName: 'file-input',
  awsRequestId: 'r-1',
  getRemainingTimeInMillis: () => 60_000,
} as Context;
let fixture: RepositoryFixture;
let deps: FileInputDeps;
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
  fixture = await repositoryFixture('fn-file-input');
  const prefix = uniquePrefix('files');
  queue = {
    ...(await createQueue(`${prefix}-inbound`)),
    deadLetter: (await createQueue(`${prefix}-dlq`)).url,
  };
  deps = {
    repos: fixture.repos,
    sqs: fixture.clients.sqs,
    logger: new Logger({ logLevel: 'SILENT' }),
    queue: {
      SOURCE_QUEUE_URL: queue.url,
      DEAD_LETTER_QUEUE_URL: queue.deadLetter,
      SOURCE_MAX_RECEIVE_COUNT: 5,
    },
  };
});

async function receive(url: string, count: number): Promise<Message[]> {
  const messages: Message[] = [];
  const deadline = Date.now() + 10_000;
  while (messages.length < count && Date.now() < deadline) {
    const response = await fixture.clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    messages.push(...(response.Messages ?? []));
  }
  return messages;
}

function fileInput(
  datasetUid: string,
  name: string,
  size = fileRef(name).size,
): z.input<typeof FileInputDetail> {
  return {
    datasetUid,
    datasetName: datasetUid,
    file: { name, url: `s3://spd-data/raw/${name}`, size, checksum: sha256Of(name) },
  };
}

/** Sends file.input events to the inbound-files queue as the bus rule would, and receives them. */
async function deliver(details: readonly z.input<typeof FileInputDetail>[]): Promise<SQSEvent> {
  const bodies = details.map((detail) =>
    JSON.stringify({
      version: '0',
      id: randomUUID(),
      'detail-type': 'file.input',
      source: 'spd.dsm',
      account: '000000000000',
      time: new Date().toISOString(),
      region: 'us-east-1',
      resources: [],
      detail,
    }),
  );
  await fixture.clients.sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: queue.url,
      Entries: bodies.map((body, index) => ({ Id: String(index), MessageBody: body })),
    }),
  );
  const messages = await receive(queue.url, bodies.length);
  return sqsEvent(messages, queue.arn);
}

async function deadLetters(count: number): Promise<Record<string, string | undefined>[]> {
  return (await receive(queue.deadLetter, count)).map((message) => ({
    code: message.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.code]?.StringValue,
    reason: message.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.reason]?.StringValue,
  }));
}

describe('file-input handler', () => {
  it('registers new files, dead-letters a conflicting one with its reason and changes nothing on redelivery', async () => {
    counter += 1;
    const datasetUid = `ds-files-${counter}`;
    const handler = createFileInputHandler(deps);
    await handler(await deliver([fileInput(datasetUid, 'a.raw')]), context);

    const batch = await deliver([
      fileInput(datasetUid, 'b.raw'),
      fileInput(datasetUid, 'a.raw', 5),
      fileInput(datasetUid, 'c.raw'),
    ]);
    const response = await handler(batch, context);
    const redelivered = await handler(
      { Records: batch.Records.filter((record) => !record.body.includes('"size":5')) },
      context,
    );

    expect(response.batchItemFailures).toEqual([]);
    expect(redelivered.batchItemFailures).toEqual([]);
    expect(await deadLetters(1)).toEqual([
      {
        code: 'FILE_CONFLICT',
        reason: `file ${datasetUid}/a.raw is registered with different content: size ${fileRef('a.raw').size} registered, 5 announced`,
      },
    ]);
    expect(await fixture.repos.datasets.get(datasetUid)).toMatchObject({ state: 'OPEN', fileCount: 3 });
  });

  it('dead-letters a new file for a closed dataset', async () => {
    counter += 1;
    const datasetUid = `ds-files-${counter}`;
    const handler = createFileInputHandler(deps);
    await handler(await deliver([fileInput(datasetUid, 'a.raw')]), context);
    await fixture.repos.datasets.close(datasetUid);

    const response = await handler(await deliver([fileInput(datasetUid, 'late.raw')]), context);

    expect(response.batchItemFailures).toEqual([]);
    expect(await deadLetters(1)).toEqual([
      {
        code: 'DATASET_NOT_OPEN',
        reason: `dataset ${datasetUid} is CLOSED: it takes no more files (file late.raw)`,
      },
    ]);
  });

  it('makes a job per file for a running streaming task, once however often a file is announced', async () => {
    counter += 1;
    const datasetUid = `ds-files-${counter}`;
    const taskId = `t-streaming-${counter}`;
    await fixture.repos.tasks.create(taskId, taskSpec({ inputDatasetUid: datasetUid, streaming: true }));
    await fixture.repos.tasks.transition({ taskId, from: 'REGISTERED', to: 'RUNNING' });
    const handler = createFileInputHandler(deps);
    await handler(await deliver([fileInput(datasetUid, 'run_first.raw')]), context);
    const files = Array.from({ length: 10 }, (_, index) => fileInput(datasetUid, `run_${index}.raw`));
    const event = await deliver(files);
    fixture.calls.reset();

    await handler(event, context);
    const calls = fixture.calls.snapshot();
    await handler(event, context);

    const total = calls.reduce((sum, call) => sum + call.calls, 0);
    console.log(
      `file-input: ${total / files.length} AWS calls per streamed file:`,
      calls.map((call) => `${call.service}:${call.operation}=${call.calls / files.length}`).join(', '),
    );
    // Per file: its registration and its job; one lookup of the streaming tasks per batch, with
    // their counter shards.
    expect(calls).toEqual([
      { service: 'DynamoDB', operation: 'BatchGetItem', calls: 1 },
      { service: 'DynamoDB', operation: 'Query', calls: 1 },
      { service: 'DynamoDB', operation: 'TransactWriteItems', calls: 20 },
    ]);
    expect(await fixture.repos.tasks.get(taskId)).toMatchObject({ jobsTotal: 11, counts: { READY: 11 } });
    expect((await fixture.repos.datasets.get(datasetUid)).fileCount).toBe(11);
  });
});
