/** What the dead-letter queues hold, with the reasons the consumers attached. */
import { ChangeMessageVisibilityBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { DEAD_LETTER_ATTRIBUTES } from '../../../functions/common/index.js';
import type { QueueName } from '../../support/index.js';
import type { SystemCore } from './system.js';

/** Long enough that one reading sees every message once. */
const READ_VISIBILITY_SECONDS = 30;
/** SQS batch calls take at most 10 entries. */
const BATCH = 10;

export interface DeadLetteredMessage {
  body: string;
  code: string | undefined;
  reason: string | undefined;
}

/**
 * Every message of a queue's DLQ, each received once (the queue is read until a receive comes
 * back empty), then made visible again: reading takes nothing away.
 */
export async function readDeadLetters(system: SystemCore, queue: QueueName): Promise<DeadLetteredMessage[]> {
  const queueUrl = system.plane.deadLetterQueueUrls[queue];
  const letters: DeadLetteredMessage[] = [];
  const receipts: string[] = [];
  for (;;) {
    const response = await system.clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: BATCH,
        VisibilityTimeout: READ_VISIBILITY_SECONDS,
        MessageAttributeNames: ['All'],
      }),
    );
    const messages = response.Messages ?? [];
    if (messages.length === 0) break;
    for (const message of messages) {
      const attributes = message.MessageAttributes ?? {};
      receipts.push(message.ReceiptHandle!);
      letters.push({
        body: message.Body ?? '',
        code: attributes[DEAD_LETTER_ATTRIBUTES.code]?.StringValue,
        reason: attributes[DEAD_LETTER_ATTRIBUTES.reason]?.StringValue,
      });
    }
  }
  for (let start = 0; start < receipts.length; start += BATCH) {
    await system.clients.sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queueUrl,
        Entries: receipts
          .slice(start, start + BATCH)
          .map((handle, index) => ({ Id: String(index), ReceiptHandle: handle, VisibilityTimeout: 0 })),
      }),
    );
  }
  return letters;
}
