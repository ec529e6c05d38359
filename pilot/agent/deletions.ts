import type { Logger } from '@aws-lambda-powertools/logger';
import {
  DeleteMessageBatchCommand,
  type DeleteMessageBatchCommandOutput,
  type Message,
} from '@aws-sdk/client-sqs';
import { DELETE_FLUSH_MS, SQS_MAX_BATCH } from './constants.js';

/** The one SQS call the deletions make: an SQSClient fits, and so does a test's fake. */
export interface DeleteBatchSender {
  send(
    command: DeleteMessageBatchCommand,
    options?: { abortSignal?: AbortSignal },
  ): Promise<DeleteMessageBatchCommandOutput>;
}

export interface MessageDeletionsOptions {
  sqs: DeleteBatchSender;
  logger: Logger;
  /** How long the first waiting delete waits for others (DELETE_FLUSH_MS by default). */
  flushMs?: number;
}

interface Deletion {
  messageId: string | undefined;
  receiptHandle: string;
}

/**
 * Job messages the pilot is done with (claimed, or refused by the control plane), deleted with
 * DeleteMessageBatch: one call for up to ten messages of a queue, sent as soon as ten wait for
 * that queue, else `flushMs` after the first of them came. A delete that fails (a `Failed`
 * entry or the whole call) is logged and not retried: the claim already holds the job, and a
 * redelivered message is refused by the control plane and dropped, so a lost delete costs a
 * receive, never a second run.
 */
export class MessageDeletions {
  readonly #options: MessageDeletionsOptions;
  readonly #flushMs: number;
  /** Waiting deletes by queue URL. */
  readonly #pending = new Map<string, Deletion[]>();
  readonly #inFlight = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  /** Aborted by a flush whose deadline passes: ends every call still on its way. */
  #abort = new AbortController();

  constructor(options: MessageDeletionsOptions) {
    this.#options = options;
    this.#flushMs = options.flushMs ?? DELETE_FLUSH_MS;
  }

  /** Deletes waiting to be sent (not those on their way). */
  get pendingCount(): number {
    let count = 0;
    for (const waiting of this.#pending.values()) count += waiting.length;
    return count;
  }

  /** Queues the delete of `message` from the queue at `queueUrl`; never waits for SQS. */
  delete(queueUrl: string, message: Pick<Message, 'MessageId' | 'ReceiptHandle'>): void {
    if (message.ReceiptHandle === undefined) {
      this.#warn(message.MessageId, 'the message has no receipt handle');
      return;
    }
    const waiting = this.#pending.get(queueUrl) ?? [];
    waiting.push({ messageId: message.MessageId, receiptHandle: message.ReceiptHandle });
    this.#pending.set(queueUrl, waiting);
    if (waiting.length >= SQS_MAX_BATCH) {
      this.#send(queueUrl, waiting.splice(0, SQS_MAX_BATCH));
      if (waiting.length === 0) this.#pending.delete(queueUrl);
      return;
    }
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#sendAll();
      }, this.#flushMs);
      // Waiting deletes alone never keep the process alive; the pilot flushes them when it stops.
      this.#timer.unref();
    }
  }

  /**
   * Sends every waiting delete at once and waits for all calls on their way, those of an
   * earlier flush period included; calls still running at `deadline` (epoch ms) are aborted
   * and their messages logged as not deleted.
   */
  async flush(deadline: number): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#sendAll();
    if (this.#inFlight.size === 0) return;
    const abort = this.#abort;
    const deadlineTimer = setTimeout(() => abort.abort(), Math.max(0, deadline - Date.now()));
    try {
      while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
    } finally {
      clearTimeout(deadlineTimer);
      if (abort.signal.aborted) this.#abort = new AbortController();
    }
  }

  #sendAll(): void {
    for (const [queueUrl, waiting] of this.#pending) {
      while (waiting.length > 0) this.#send(queueUrl, waiting.splice(0, SQS_MAX_BATCH));
    }
    this.#pending.clear();
  }

  #send(queueUrl: string, batch: Deletion[]): void {
    const call = this.#deleteBatch(queueUrl, batch).finally(() => this.#inFlight.delete(call));
    this.#inFlight.add(call);
  }

  /** One DeleteMessageBatch; never throws. */
  async #deleteBatch(queueUrl: string, batch: Deletion[]): Promise<void> {
    try {
      const response = await this.#options.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: batch.map((deletion, index) => ({
            Id: String(index),
            ReceiptHandle: deletion.receiptHandle,
          })),
        }),
        { abortSignal: this.#abort.signal },
      );
      for (const failure of response.Failed ?? []) {
        this.#warn(
          batch[Number(failure.Id)]?.messageId,
          [failure.Code, failure.Message].filter(Boolean).join(': '),
        );
      }
    } catch (error) {
      for (const deletion of batch) this.#warn(deletion.messageId, (error as Error).message);
    }
  }

  #warn(messageId: string | undefined, error: string): void {
    // The claim already holds the job; a redelivered message will be refused and dropped.
    this.#options.logger.warn('job message could not be deleted', { messageId, error });
  }
}
