/** Batched job message deletes against the emulator's SQS: what the queue holds after them, and at what cost. */
import { Logger } from '@aws-lambda-powertools/logger';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
} from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { CallCounter, createAwsClients } from '../../shared/aws/index.js';
import { uniquePrefix } from '../../test/support/tables.js';
import { MessageDeletions } from './deletions.js';

const calls = new CallCounter();
const { sqs } = createAwsClients({ callCounter: calls });
const VISIBILITY_TIMEOUT_SECONDS = 1;

/** A queue of its own whose messages come back soon after a receive that did not delete them. */
async function createShortVisibilityQueue(): Promise<string> {
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({
      QueueName: uniquePrefix('pilot-deletions'),
      Attributes: { VisibilityTimeout: String(VISIBILITY_TIMEOUT_SECONDS) },
    }),
  );
  return QueueUrl!;
}

async function sendMessages(queueUrl: string, count: number): Promise<void> {
  for (let first = 0; first < count; first += 10) {
    const ids = Array.from({ length: Math.min(10, count - first) }, (_, index) => first + index);
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: ids.map((id) => ({ Id: String(id), MessageBody: JSON.stringify({ job: id }) })),
      }),
    );
  }
}

/** Every message of the queue, once each (the latest receipt if a slow receive saw one twice). */
async function receiveAll(queueUrl: string, count: number): Promise<Message[]> {
  const received = new Map<string, Message>();
  const deadline = Date.now() + 30_000;
  while (received.size < count && Date.now() < deadline) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    for (const message of Messages) received.set(message.MessageId!, message);
  }
  return [...received.values()];
}

describe('MessageDeletions', () => {
  it('deletes 25 received messages with three DeleteMessageBatch calls; none comes back after the visibility timeout', async () => {
    // Prepare
    const queueUrl = await createShortVisibilityQueue();
    await sendMessages(queueUrl, 25);
    const messages = await receiveAll(queueUrl, 25);
    const logger = new Logger({ logLevel: 'SILENT' });
    const deletions = new MessageDeletions({ sqs, logger });
    calls.reset();
    // Act
    for (const message of messages) deletions.delete(queueUrl, message);
    await deletions.flush(Date.now() + 10_000);
    const deleteCalls = calls.snapshot();
    await new Promise((resolve) => setTimeout(resolve, (VISIBILITY_TIMEOUT_SECONDS + 1) * 1000));
    // Assess
    expect(messages).toHaveLength(25);
    expect(deleteCalls).toEqual([{ service: 'SQS', operation: 'DeleteMessageBatch', calls: 3 }]);
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    expect(Messages).toEqual([]);
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    expect(Attributes).toEqual({
      ApproximateNumberOfMessages: '0',
      ApproximateNumberOfMessagesNotVisible: '0',
    });
  });
});
