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
import { toSqsEventRecord } from '../../infra/local/index.js';
import {
  type RepositoryFixture,
  repositoryFixture,
  taskSpec,
  uniquePrefix,
} from '../../test/support/index.js';
import { DEAD_LETTER_ATTRIBUTES } from '../common/index.js';
import { createDatasetAdminHandler } from './handler.js';

/** Received messages as Lambda's SQS event source passes them (the embedded runtime's record builder). */
function sqsEvent(messages: readonly Message[], queueArn: string): SQSEvent {
  return {
    Records: messages.map((message) => toSqsEventRecord(message, queueArn, 'us-east-1')),
  } as unknown as SQSEvent;
}

const context = {
  functionName: 'dataset-admin',
  awsRequestId: 'r-1',
  getRemainingTimeInMillis: () => 30_000,
} as Context;
let fixture: RepositoryFixture;
let queue: { url: string; arn: string; deadLetter: string };
let handler: ReturnType<typeof createDatasetAdminHandler>;
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
  fixture = await repositoryFixture('fn-dataset-admin');
  const prefix = uniquePrefix('admin');
  queue = { ...(await createQueue(`${prefix}-admin`)), deadLetter: (await createQueue(`${prefix}-dlq`)).url };
  handler = createDatasetAdminHandler({
    repos: fixture.repos,
    sqs: fixture.clients.sqs,
    logger: new Logger({ logLevel: 'SILENT' }),
    queue: {
      SOURCE_QUEUE_URL: queue.url,
      DEAD_LETTER_QUEUE_URL: queue.deadLetter,
      SOURCE_MAX_RECEIVE_COUNT: 5,
    },
  });
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

/** Sends DSM events to the dataset-admin queue as the bus rule would, and receives them in one batch. */
async function deliver(events: readonly ['dataset.upload' | 'dataset.delete', string][]): Promise<SQSEvent> {
  await fixture.clients.sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: queue.url,
      Entries: events.map(([detailType, datasetUid], index) => ({
        Id: String(index),
        MessageBody: JSON.stringify({
          version: '0',
          id: randomUUID(),
          'detail-type': detailType,
          source: 'spd.dsm',
          account: '000000000000',
          time: new Date().toISOString(),
          region: 'us-east-1',
          resources: [],
          detail: { datasetUid },
        }),
      })),
    }),
  );
  const messages = await receive(queue.url, events.length);
  return sqsEvent(messages, queue.arn);
}

async function closedDataset(): Promise<string> {
  counter += 1;
  const uid = `ds-admin-${counter}`;
  await fixture.repos.datasets.create({ uid, name: uid, kind: 'input' });
  await fixture.repos.datasets.close(uid);
  return uid;
}

describe('dataset-admin handler', () => {
  it('marks datasets for upload and deletion once, failing the tasks registered on a deleted one', async () => {
    const uploaded = await closedDataset();
    const deleted = await closedDataset();
    const waiting = `t-admin-${counter}`;
    await fixture.repos.tasks.create(waiting, taskSpec({ inputDatasetUid: deleted }));
    const event = await deliver([
      ['dataset.upload', uploaded],
      ['dataset.delete', deleted],
    ]);

    const first = await handler(event, context);
    const redelivered = await handler(event, context);

    expect(first.batchItemFailures).toEqual([]);
    expect(redelivered.batchItemFailures).toEqual([]);
    expect((await fixture.repos.datasets.get(uploaded)).state).toBe('TO_UPLOAD');
    expect((await fixture.repos.datasets.get(deleted)).state).toBe('TO_DELETE');
    expect((await fixture.repos.tasks.get(waiting)).state).toBe('FAILED');
  });

  it('retries an upload of a dataset still open and dead-letters one of a dataset marked for deletion', async () => {
    counter += 1;
    const open = `ds-admin-open-${counter}`;
    await fixture.repos.datasets.create({ uid: open, name: open, kind: 'input' });
    const deleted = await closedDataset();
    await handler(await deliver([['dataset.delete', deleted]]), context);

    const event = await deliver([
      ['dataset.upload', open],
      ['dataset.upload', deleted],
    ]);
    const response = await handler(event, context);

    const openRecord = event.Records.find((record) => record.body.includes(open));
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: openRecord?.messageId }]);
    const [dead] = await receive(queue.deadLetter, 1);
    expect(dead?.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.code]?.StringValue).toBe('DATASET_STATE');
    expect(dead?.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.reason]?.StringValue).toBe(
      `dataset ${deleted} is TO_DELETE: it cannot be marked for upload`,
    );
  });

  it('dead-letters an upload of a dataset that stayed open through every deferral, with the reason', async () => {
    counter += 1;
    const open = `ds-admin-still-open-${counter}`;
    await fixture.repos.datasets.create({ uid: open, name: open, kind: 'input' });
    const event = await deliver([['dataset.upload', open]]);
    // The twelfth delivery: the deferral policy's last try.
    event.Records[0]!.attributes.ApproximateReceiveCount = '12';

    const response = await handler(event, context);

    expect(response.batchItemFailures).toEqual([]);
    const [dead] = await receive(queue.deadLetter, 1);
    expect(dead?.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.code]?.StringValue).toBe('DEFERRED_TOO_LONG');
    expect(dead?.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.reason]?.StringValue).toContain(open);
  });
});
