/**
 * The stack's dead-letter queues for operators: depth and a peek at why messages are there
 * (without consuming them), and redrive back to the source queue.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  type Message,
  type MessageAttributeValue,
  PurgeQueueCommand,
  PurgeQueueInProgress,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { z } from 'zod';
import {
  DEAD_LETTER_PEEK,
  DEAD_LETTER_SHOW,
  type DeadLetterMessage,
  type DeadLetterMessages,
  type DeadLetterQueueView,
  type PurgeReport,
  type RedriveReport,
} from '../../events/index.js';
import { ConditionFailedError, NotFoundError, ValidationError } from '../../shared/errors/index.js';
import { Identifier } from '../../shared/model/index.js';
import { DEAD_LETTER_ATTRIBUTES } from '../common/index.js';

/** An SQS queue name (1 to 80 letters, digits, - or _). */
const QueueName = z.string().regex(/^[A-Za-z0-9_-]{1,80}$/, 'must be an SQS queue name');

/** A dead-letter queue and, when its messages can go back, the queue they came from. */
export const DeadLetterQueue = z
  .object({ dlq: QueueName, source: QueueName.optional() })
  .strict()
  .transform(({ dlq, source }) => ({
    deadLetterQueue: dlq,
    ...(source === undefined ? {} : { sourceQueue: source }),
  }));
export type DeadLetterQueue = z.output<typeof DeadLetterQueue>;

/**
 * OPERATOR_DEAD_LETTER_QUEUES: a JSON object naming every dead-letter queue of the stack by
 * what it catches the dead letters of (a queue's DLQ by the queue's name), each
 * `{ "dlq": <queue name>, "source": <queue name> }` (no source when its messages cannot be
 * redriven). Queue names rather than URLs keep Lambda's 4 KB environment within bounds.
 */
export const DeadLetterQueuesConfig = z.object({
  OPERATOR_DEAD_LETTER_QUEUES: z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be a JSON object', input: text });
        return z.NEVER;
      }
    })
    .pipe(z.record(Identifier, DeadLetterQueue)),
});
export type DeadLetterQueues = z.output<typeof DeadLetterQueuesConfig>['OPERATOR_DEAD_LETTER_QUEUES'];

/** Queue URLs by name, per client, for the life of the container: a queue's URL never changes. */
const queueUrlCache = new WeakMap<SQSClient, Map<string, Promise<string>>>();

export function queueUrlOf(sqs: SQSClient, queueName: string): Promise<string> {
  let urls = queueUrlCache.get(sqs);
  if (urls === undefined) {
    urls = new Map();
    queueUrlCache.set(sqs, urls);
  }
  const cached = urls.get(queueName);
  if (cached !== undefined) return cached;
  const lookup = sqs.send(new GetQueueUrlCommand({ QueueName: queueName })).then(({ QueueUrl }) => {
    if (QueueUrl === undefined) throw new Error(`SQS returned no URL for queue ${queueName}`);
    return QueueUrl;
  });
  urls.set(queueName, lookup);
  // A failed lookup is not remembered: the next request asks again.
  lookup.catch(() => urls.delete(queueName));
  return lookup;
}

/** Messages received at once (SQS's maximum). */
const RECEIVE_BATCH = 10;
/** A message being redriven stays hidden this long, so a concurrent redrive does not move it twice. */
const REDRIVE_VISIBILITY_SECONDS = 60;
/** Consumers' bookkeeping on a dead letter: dropped on redrive, the consumer starts afresh. */
const BOOKKEEPING_ATTRIBUTES = new Set<string>(Object.values(DEAD_LETTER_ATTRIBUTES));

export interface QueueDepth {
  depth: number;
  inFlight: number;
}

export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<QueueDepth> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    depth: Number(Attributes.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
  };
}

function attribute(message: Message, name: string): string | undefined {
  return message.MessageAttributes?.[name]?.StringValue;
}

/** What an operator needs to judge a dead letter; the body is cut to a preview of `bodyChars`. */
export function deadLetterMessageOf(
  message: Message,
  bodyChars: number = DEAD_LETTER_PEEK.bodyChars,
): DeadLetterMessage {
  const body = message.Body ?? '';
  const sent = Number(message.Attributes?.SentTimestamp);
  const receiveCount = Number(attribute(message, DEAD_LETTER_ATTRIBUTES.receiveCount));
  const code = attribute(message, DEAD_LETTER_ATTRIBUTES.code);
  const reason = attribute(message, DEAD_LETTER_ATTRIBUTES.reason);
  return {
    messageId: message.MessageId ?? '(unknown)',
    ...(Number.isFinite(sent) && sent > 0 ? { sentAt: new Date(sent).toISOString() } : {}),
    ...(Number.isInteger(receiveCount) && receiveCount >= 0 ? { receiveCount } : {}),
    ...(code === undefined ? {} : { errorCode: code }),
    ...(reason === undefined ? {} : { errorReason: reason }),
    body: body.slice(0, bodyChars),
    bodyTruncated: body.length > bodyChars,
  };
}

/** Up to DEAD_LETTER_PEEK.messages messages, left visible (a zero visibility timeout). */
async function peek(sqs: SQSClient, queueUrl: string): Promise<DeadLetterMessage[]> {
  const { Messages = [] } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: DEAD_LETTER_PEEK.messages,
      VisibilityTimeout: 0,
      WaitTimeSeconds: 0,
      MessageAttributeNames: ['All'],
      MessageSystemAttributeNames: ['SentTimestamp'],
    }),
  );
  return Messages.map((message) => deadLetterMessageOf(message));
}

/** Every dead-letter queue, by name, with its depth and (when not empty) a peek at its messages. */
export async function listDeadLetterQueues(
  sqs: SQSClient,
  queues: DeadLetterQueues,
): Promise<DeadLetterQueueView[]> {
  const names = Object.keys(queues).sort();
  return Promise.all(
    names.map(async (name) => {
      const queue = queues[name]!;
      const url = await queueUrlOf(sqs, queue.deadLetterQueue);
      const { depth, inFlight } = await queueDepth(sqs, url);
      const messages = depth > 0 ? await peek(sqs, url) : [];
      return { name, source: queue.sourceQueue === undefined ? null : name, depth, inFlight, messages };
    }),
  );
}

/** Depths only: what the dashboard shows. */
export async function deadLetterDepths(
  sqs: SQSClient,
  queues: DeadLetterQueues,
): Promise<{ name: string; depth: number }[]> {
  const names = Object.keys(queues).sort();
  return Promise.all(
    names.map(async (name) => ({
      name,
      depth: (await queueDepth(sqs, await queueUrlOf(sqs, queues[name]!.deadLetterQueue))).depth,
    })),
  );
}

function redrivenAttributes(message: Message): Record<string, MessageAttributeValue> | undefined {
  const kept = Object.entries(message.MessageAttributes ?? {}).filter(
    ([name]) => !BOOKKEEPING_ATTRIBUTES.has(name),
  );
  return kept.length === 0 ? undefined : Object.fromEntries(kept);
}

export interface RedriveOptions {
  maxMessages: number;
  /** True once too little time is left to move another batch. */
  pastDeadline: () => boolean;
}

/**
 * Moves up to `maxMessages` of the messages the named dead-letter queue holds now back to its
 * source: receive (hidden meanwhile), send to the source, then delete only what the source
 * accepted. A message the source refused becomes visible in the dead-letter queue again.
 */
export async function redriveDeadLetters(
  sqs: SQSClient,
  queues: DeadLetterQueues,
  name: string,
  options: RedriveOptions,
): Promise<RedriveReport> {
  const queue = queues[name];
  if (queue === undefined) throw new NotFoundError('dead-letter queue', name);
  if (queue.sourceQueue === undefined) {
    throw new ConditionFailedError(
      'dead-letter queue',
      name,
      `dead-letter queue ${name} has no single source queue: its messages cannot be redriven`,
    );
  }
  const [deadLetterUrl, sourceUrl] = await Promise.all([
    queueUrlOf(sqs, queue.deadLetterQueue),
    queueUrlOf(sqs, queue.sourceQueue),
  ]);
  // Only what is there now: a message that fails again at the source comes back as a new
  // dead letter, and must wait for the next redrive rather than circle in this one.
  const limit = Math.min(options.maxMessages, (await queueDepth(sqs, deadLetterUrl)).depth);
  let moved = 0;
  while (moved < limit && !options.pastDeadline()) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: deadLetterUrl,
        MaxNumberOfMessages: Math.min(RECEIVE_BATCH, limit - moved),
        VisibilityTimeout: REDRIVE_VISIBILITY_SECONDS,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ['All'],
      }),
    );
    if (Messages.length === 0) break;
    const { Successful = [] } = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: sourceUrl,
        Entries: Messages.map((message, index) => ({
          Id: String(index),
          MessageBody: message.Body ?? '',
          MessageAttributes: redrivenAttributes(message),
        })),
      }),
    );
    const sent = Successful.map((entry) => Messages[Number(entry.Id)]!);
    if (sent.length > 0) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: deadLetterUrl,
          Entries: sent.map((message, index) => ({
            Id: String(index),
            ReceiptHandle: message.ReceiptHandle!,
          })),
        }),
      );
    }
    moved += sent.length;
    if (sent.length < Messages.length) break;
  }
  const { depth } = await queueDepth(sqs, deadLetterUrl);
  return { queue: name, source: name, moved, remaining: depth };
}

/** How long messages being shown stay hidden: long enough to page past them, then made visible again. */
const SHOW_VISIBILITY_SECONDS = 30;

function deadLetterQueueOf(queues: DeadLetterQueues, name: string): DeadLetterQueue {
  const queue = queues[name];
  if (queue === undefined) throw new NotFoundError('dead-letter queue', name);
  return queue;
}

/**
 * Up to `limit` messages of a dead-letter queue with their bodies and reasons, left in it. A
 * receive with a zero visibility timeout could return the same messages again and again, so
 * each batch is hidden for a short while to reach the next ones, and every message shown is
 * made visible again at once afterwards (a failure to do so only delays it by the short
 * timeout: nothing is deleted). Receiving counts a delivery, which a dead-letter queue (having
 * no dead-letter queue of its own) does not act on.
 */
export async function showDeadLetters(
  sqs: SQSClient,
  queues: DeadLetterQueues,
  name: string,
  limit: number,
): Promise<DeadLetterMessages> {
  const url = await queueUrlOf(sqs, deadLetterQueueOf(queues, name).deadLetterQueue);
  const received = new Map<string, Message>();
  try {
    while (received.size < limit) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: url,
          MaxNumberOfMessages: Math.min(RECEIVE_BATCH, limit - received.size),
          VisibilityTimeout: SHOW_VISIBILITY_SECONDS,
          WaitTimeSeconds: 0,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: ['SentTimestamp'],
        }),
      );
      const fresh = Messages.filter((message) => !received.has(message.MessageId ?? ''));
      if (fresh.length === 0) break;
      for (const message of fresh) received.set(message.MessageId ?? '', message);
    }
  } finally {
    const shown = [...received.values()];
    for (let start = 0; start < shown.length; start += RECEIVE_BATCH) {
      await sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: url,
          Entries: shown.slice(start, start + RECEIVE_BATCH).map((message, index) => ({
            Id: String(index),
            ReceiptHandle: message.ReceiptHandle!,
            VisibilityTimeout: 0,
          })),
        }),
      );
    }
  }
  const { depth, inFlight } = await queueDepth(sqs, url);
  return {
    queue: name,
    depth: depth + inFlight,
    messages: [...received.values()].map((message) =>
      deadLetterMessageOf(message, DEAD_LETTER_SHOW.bodyChars),
    ),
  };
}

/**
 * Deletes every message of a dead-letter queue (SQS PurgeQueue). `confirm` must repeat the
 * queue's name. SQS allows one purge a minute per queue: a second is a ConditionFailedError.
 */
export async function purgeDeadLetters(
  sqs: SQSClient,
  queues: DeadLetterQueues,
  name: string,
  confirm: string,
): Promise<PurgeReport> {
  const queue = deadLetterQueueOf(queues, name);
  if (confirm !== name) {
    throw new ValidationError('invalid body', [
      { path: 'confirm', message: `must be the queue's name, ${name}` },
    ]);
  }
  const url = await queueUrlOf(sqs, queue.deadLetterQueue);
  const { depth, inFlight } = await queueDepth(sqs, url);
  try {
    await sqs.send(new PurgeQueueCommand({ QueueUrl: url }));
  } catch (error) {
    if (error instanceof PurgeQueueInProgress) {
      throw new ConditionFailedError(
        'dead-letter queue',
        name,
        `dead-letter queue ${name} was purged less than a minute ago`,
        { cause: error },
      );
    }
    throw error;
  }
  return { queue: name, purged: depth + inFlight };
}
