import { Logger } from '@aws-lambda-powertools/logger';
import { JSONStringified } from '@aws-lambda-powertools/parser/helpers';
import { SqsRecordSchema } from '@aws-lambda-powertools/parser/schemas';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import type { Context, SQSEvent } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { toSqsEventRecord } from '../../infra/local/index.js';
import { awsClients } from '../../shared/aws/index.js';
import { uniquePrefix } from '../../test/support/index.js';
import { DEAD_LETTER_ATTRIBUTES } from './dead-letter.js';
import { DeferMessageError, PoisonMessageError } from './errors.js';
import { createSqsConsumer } from './sqs-consumer.js';

const { sqs } = awsClients();
const context = {
  functionName: 'test',
  awsRequestId: 'r-1',
  getRemainingTimeInMillis: () => 30_000,
} as Context;
const Body = z.object({ id: z.string(), action: z.enum(['ok', 'fail', 'defer', 'poison']) }).strict();
const RecordSchema = SqsRecordSchema.extend({ body: JSONStringified(Body) });

interface Queues {
  source: string;
  sourceArn: string;
  deadLetter: string;
}

async function makeQueues(): Promise<Queues> {
  const prefix = uniquePrefix('consumer');
  const source = (await sqs.send(new CreateQueueCommand({ QueueName: `${prefix}-source` }))).QueueUrl!;
  const deadLetter = (await sqs.send(new CreateQueueCommand({ QueueName: `${prefix}-dlq` }))).QueueUrl!;
  const attributes = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: source, AttributeNames: ['QueueArn'] }),
  );
  return { source, sourceArn: attributes.Attributes!.QueueArn!, deadLetter };
}

async function receiveAll(queueUrl: string, count: number, waitSeconds = 1): Promise<Message[]> {
  const messages: Message[] = [];
  const deadline = Date.now() + 10_000;
  while (messages.length < count && Date.now() < deadline) {
    const response = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: waitSeconds,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    messages.push(...(response.Messages ?? []));
  }
  return messages;
}

function consumerFor(queues: Queues, handled: string[], maxReceiveCount = 5) {
  return createSqsConsumer({
    recordSchema: RecordSchema,
    sqs,
    logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
    sourceQueueUrl: queues.source,
    deadLetterQueueUrl: queues.deadLetter,
    maxReceiveCount,
    handleRecord: async (record) => {
      const { id, action } = record.body;
      if (action === 'fail') throw new Error(`transient failure of ${id}`);
      if (action === 'defer') throw new DeferMessageError(30, `waiting for ${id}`);
      if (action === 'poison') throw new PoisonMessageError('CONFLICT', `${id} conflicts`);
      handled.push(id);
    },
  });
}

async function deliver(queues: Queues, bodies: string[]): Promise<SQSEvent> {
  for (const body of bodies)
    await sqs.send(new SendMessageCommand({ QueueUrl: queues.source, MessageBody: body }));
  const messages = await receiveAll(queues.source, bodies.length);
  return {
    Records: messages.map((m) => toSqsEventRecord(m, queues.sourceArn, 'us-east-1')),
  } as unknown as SQSEvent;
}

describe('createSqsConsumer', () => {
  let queues: Queues;
  beforeAll(async () => {
    queues = await makeQueues();
  });

  it('dead-letters invalid and poison records with their reasons, retries transient failures, and handles the rest', async () => {
    const handled: string[] = [];
    const event = await deliver(queues, [
      JSON.stringify({ id: 'a', action: 'ok' }),
      JSON.stringify({ id: 'b', action: 'fail' }),
      JSON.stringify({ id: 'c', action: 'explode' }),
      '{not json',
      JSON.stringify({ id: 'd', action: 'poison' }),
    ]);
    const byId = new Map(event.Records.map((r) => [r.body, r.messageId]));

    const response = await consumerFor(queues, handled)(event, context);

    expect(handled).toEqual(['a']);
    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: byId.get(JSON.stringify({ id: 'b', action: 'fail' })) },
    ]);
    const dead = await receiveAll(queues.deadLetter, 3);
    const reasons = Object.fromEntries(
      dead.map((m) => [
        m.Body,
        {
          code: m.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.code]?.StringValue,
          reason: m.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.reason]?.StringValue,
          source: m.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.sourceQueue]?.StringValue,
        },
      ]),
    );
    expect(Object.keys(reasons).sort()).toEqual(
      [
        '{not json',
        JSON.stringify({ id: 'c', action: 'explode' }),
        JSON.stringify({ id: 'd', action: 'poison' }),
      ].sort(),
    );
    expect(reasons[JSON.stringify({ id: 'c', action: 'explode' })]).toMatchObject({
      code: 'VALIDATION',
      source: queues.source,
    });
    expect(reasons[JSON.stringify({ id: 'c', action: 'explode' })]?.reason).toContain('body.action');
    expect(reasons['{not json']?.code).toBe('VALIDATION');
    expect(reasons[JSON.stringify({ id: 'd', action: 'poison' })]).toMatchObject({
      code: 'CONFLICT',
      reason: 'd conflicts',
    });
  });

  it('defers a record by hiding it for its delay, and dead-letters it with the reason on the last delivery', async () => {
    const own = await makeQueues();
    const event = await deliver(own, [JSON.stringify({ id: 'late', action: 'defer' })]);

    const first = await consumerFor(own, [], 5)(event, context);

    expect(first.batchItemFailures).toHaveLength(1);
    const attributes = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: own.source,
        AttributeNames: ['ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    expect(attributes.Attributes?.ApproximateNumberOfMessagesNotVisible).toBe('1');

    const lastDelivery = await consumerFor(own, [], 1)(event, context);

    expect(lastDelivery.batchItemFailures).toEqual([]);
    const [dead] = await receiveAll(own.deadLetter, 1);
    expect(dead?.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.code]?.StringValue).toBe('DEFERRED_TOO_LONG');
    expect(dead?.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.reason]?.StringValue).toBe('waiting for late');
  });

  it('dead-letters a record that failed on its last allowed delivery, keeping the error as the reason', async () => {
    const own = await makeQueues();
    const event = await deliver(own, [JSON.stringify({ id: 'x', action: 'fail' })]);

    const response = await consumerFor(own, [], 1)(event, context);

    expect(response.batchItemFailures).toEqual([]);
    const [dead] = await receiveAll(own.deadLetter, 1);
    expect(dead?.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.code]?.StringValue).toBe('FAILED_EVERY_DELIVERY');
    expect(dead?.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.reason]?.StringValue).toBe(
      'Error: transient failure of x',
    );
  });
});
