import { type MessageAttributeValue, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';

/** Message attributes a dead-lettered message carries, so an operator sees why it is there. */
export const DEAD_LETTER_ATTRIBUTES = {
  code: 'wms-error-code',
  reason: 'wms-error-reason',
  sourceQueue: 'wms-source-queue',
  receiveCount: 'wms-receive-count',
} as const;

const REASON_MAX_CHARS = 2000;

export interface DeadLetter {
  body: string;
  code: string;
  reason: string;
  sourceQueueUrl: string;
  receiveCount: number;
}

/** Sends one message to a DLQ with its reason attached. */
export async function sendToDeadLetterQueue(
  sqs: SQSClient,
  queueUrl: string,
  letter: DeadLetter,
): Promise<void> {
  const text = (value: string): MessageAttributeValue => ({ DataType: 'String', StringValue: value });
  const reason =
    letter.reason.length > REASON_MAX_CHARS ? `${letter.reason.slice(0, REASON_MAX_CHARS)}…` : letter.reason;
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: letter.body,
      MessageAttributes: {
        [DEAD_LETTER_ATTRIBUTES.code]: text(letter.code),
        [DEAD_LETTER_ATTRIBUTES.reason]: text(reason || '(no reason given)'),
        [DEAD_LETTER_ATTRIBUTES.sourceQueue]: text(letter.sourceQueueUrl),
        [DEAD_LETTER_ATTRIBUTES.receiveCount]: {
          DataType: 'Number',
          StringValue: String(letter.receiveCount),
        },
      },
    }),
  );
}
