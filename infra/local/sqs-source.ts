/**
 * An SQS event source mapping with Lambda's semantics: long-poll the queue, gather up to
 * BatchSize records within MaximumBatchingWindowInSeconds, drop (delete) records no filter
 * matches, invoke, then delete what succeeded. With ReportBatchItemFailures only records
 * not listed in `batchItemFailures` are deleted; an error or a malformed response fails the
 * whole batch, so nothing is deleted and the queue's redrive policy takes over.
 *
 * Idle cost: one ReceiveMessage per 20 s per mapping (the long poll).
 */
import { DeleteMessageBatchCommand, type Message, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { sleep } from '../../shared/async/index.js';
import type { AwsClients } from '../../shared/aws/index.js';
import { isAbortError, Semaphore } from './concurrency.js';
import { compileFilterCriteria, type RecordMatcher } from './filter-pattern.js';
import type { FunctionPool, InvocationOutcome } from './function-pool.js';
import type { RuntimeLog } from './log.js';
import type { SqsEventSourceWiring } from './types.js';

const LONG_POLL_SECONDS = 20;
const MAX_MESSAGES_PER_RECEIVE = 10;
const RECEIVE_ERROR_BACKOFF_MS = 1_000;

export interface SqsEventSourceOptions {
  wiring: SqsEventSourceWiring;
  queueUrl: string;
  queueArn: string;
  region: string;
  /** Batches the function can take at once: its concurrency. */
  functionConcurrency: number;
  clients: AwsClients;
  pool: FunctionPool;
  log: RuntimeLog;
}

export interface SqsEventSourceStats {
  receives: number;
  batches: number;
  failedBatches: number;
  deleted: number;
  filteredOut: number;
}

interface SqsMessageAttribute {
  stringValue?: string;
  binaryValue?: string;
  stringListValues: string[];
  binaryListValues: string[];
  dataType: string;
}

/** One record of the SQS event, shaped as Lambda delivers it. */
export interface SqsEventRecord {
  messageId: string;
  receiptHandle: string;
  body: string;
  attributes: Record<string, string>;
  messageAttributes: Record<string, SqsMessageAttribute>;
  md5OfBody: string;
  md5OfMessageAttributes?: string;
  eventSource: 'aws:sqs';
  eventSourceARN: string;
  awsRegion: string;
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

export function toSqsEventRecord(message: Message, queueArn: string, region: string): SqsEventRecord {
  const messageAttributes: Record<string, SqsMessageAttribute> = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    messageAttributes[name] = {
      ...(value.StringValue !== undefined && { stringValue: value.StringValue }),
      ...(value.BinaryValue !== undefined && { binaryValue: base64(value.BinaryValue) }),
      stringListValues: value.StringListValues ?? [],
      binaryListValues: (value.BinaryListValues ?? []).map(base64),
      dataType: value.DataType ?? 'String',
    };
  }
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: { ...message.Attributes },
    messageAttributes,
    md5OfBody: message.MD5OfBody ?? '',
    ...(message.MD5OfMessageAttributes !== undefined && {
      md5OfMessageAttributes: message.MD5OfMessageAttributes,
    }),
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

/** Lambda filters SQS records with the body parsed when it is JSON. */
function filterView(record: SqsEventRecord): unknown {
  try {
    return { ...record, body: JSON.parse(record.body) };
  } catch {
    return record;
  }
}

/**
 * The message ids a ReportBatchItemFailures response asks to keep, or null when the
 * response is malformed and the whole batch counts as failed (Lambda's rules).
 */
export function failedItemIds(response: unknown, batchIds: ReadonlySet<string>): Set<string> | null {
  if (response === null || response === undefined) return new Set();
  if (typeof response !== 'object' || Array.isArray(response)) return null;
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === null || failures === undefined) return new Set();
  if (!Array.isArray(failures)) return null;
  const ids = new Set<string>();
  for (const failure of failures) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || id === '' || !batchIds.has(id)) return null;
    ids.add(id);
  }
  return ids;
}

export class SqsEventSource {
  readonly stats: SqsEventSourceStats = {
    receives: 0,
    batches: 0,
    failedBatches: 0,
    deleted: 0,
    filteredOut: 0,
  };
  readonly #options: SqsEventSourceOptions;
  readonly #abort = new AbortController();
  readonly #slots: Semaphore;
  readonly #matches: RecordMatcher;
  readonly #inFlight = new Set<Promise<void>>();
  #loop: Promise<void> | undefined;

  constructor(options: SqsEventSourceOptions) {
    this.#options = options;
    const limit = Math.min(
      options.wiring.maximumConcurrency ?? Number.POSITIVE_INFINITY,
      options.functionConcurrency,
    );
    this.#slots = new Semaphore(Math.max(limit, 1));
    this.#matches = compileFilterCriteria(options.wiring.filters);
  }

  get wiring(): SqsEventSourceWiring {
    return this.#options.wiring;
  }

  get queueUrl(): string {
    return this.#options.queueUrl;
  }

  get running(): boolean {
    return this.#loop !== undefined && !this.#abort.signal.aborted;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Ends polling at once: the long poll in progress is aborted. */
  abort(): void {
    this.#abort.abort();
  }

  /** Aborts, then waits for the batches in flight (their outcome still applies). */
  async stop(): Promise<void> {
    this.abort();
    await this.#loop;
    await Promise.all(this.#inFlight);
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      const release = await this.#slots.acquire();
      let messages: Message[] = [];
      try {
        messages = await this.#gather(signal);
      } catch (error) {
        release();
        if (signal.aborted) break;
        this.#options.log({
          level: 'warn',
          message: 'SQS receive failed',
          mapping: this.wiring.logicalId,
          error: String(error),
        });
        await sleep(RECEIVE_ERROR_BACKOFF_MS, signal);
        continue;
      }
      if (messages.length === 0) {
        release();
        continue;
      }
      const work = this.#process(messages)
        .catch((error: unknown) =>
          this.#options.log({
            level: 'error',
            message: 'SQS batch handling failed',
            mapping: this.wiring.logicalId,
            error: String(error),
          }),
        )
        .finally(release);
      this.#inFlight.add(work);
      void work.finally(() => this.#inFlight.delete(work));
    }
  }

  async #receive(maxMessages: number, waitSeconds: number, signal: AbortSignal): Promise<Message[]> {
    this.stats.receives += 1;
    const response = await this.#options.clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.#options.queueUrl,
        MaxNumberOfMessages: Math.min(maxMessages, MAX_MESSAGES_PER_RECEIVE),
        WaitTimeSeconds: waitSeconds,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
      { abortSignal: signal },
    );
    return response.Messages ?? [];
  }

  /** One long poll; then, within the batching window, more receives until the batch is full. */
  async #gather(signal: AbortSignal): Promise<Message[]> {
    const { batchSize, maximumBatchingWindowInSeconds } = this.wiring;
    const batch = await this.#receive(batchSize, LONG_POLL_SECONDS, signal);
    if (batch.length === 0 || maximumBatchingWindowInSeconds === 0) return batch;
    const deadline = Date.now() + maximumBatchingWindowInSeconds * 1000;
    while (batch.length < batchSize && !signal.aborted) {
      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0) break;
      const waitSeconds = Math.min(LONG_POLL_SECONDS, Math.floor(remainingMs / 1000));
      // Under a second left: wait it out, then take whatever is there without waiting.
      if (waitSeconds === 0) await sleep(remainingMs, signal);
      try {
        batch.push(...(await this.#receive(batchSize - batch.length, waitSeconds, signal)));
      } catch (error) {
        if (isAbortError(error) || signal.aborted) break;
        throw error;
      }
      if (waitSeconds === 0) break;
    }
    return batch;
  }

  async #process(messages: Message[]): Promise<void> {
    const { queueArn, region } = this.#options;
    const records = messages.map((message) => toSqsEventRecord(message, queueArn, region));
    const delivered = records.filter((record) => this.#matches(filterView(record)));
    const filteredOut = records.filter((record) => !delivered.includes(record));
    this.stats.filteredOut += filteredOut.length;
    // Lambda deletes the messages no filter matches.
    await this.#delete(filteredOut);
    if (delivered.length === 0) return;
    this.stats.batches += 1;
    const outcome = await this.#options.pool.invoke(this.wiring.function, { Records: delivered });
    const keep = this.#keptIds(outcome, delivered);
    if (keep === null) {
      this.stats.failedBatches += 1;
      return;
    }
    await this.#delete(delivered.filter((record) => !keep.has(record.messageId)));
  }

  /** Ids of the records to leave on the queue, or null when the whole batch failed. */
  #keptIds(outcome: InvocationOutcome, records: SqsEventRecord[]): Set<string> | null {
    const mapping = this.wiring.logicalId;
    if (!outcome.ok) {
      this.#options.log({
        level: 'warn',
        message: 'SQS batch failed: function error',
        mapping,
        requestId: outcome.requestId,
        error: outcome.error,
      });
      return null;
    }
    if (!this.wiring.reportBatchItemFailures) return new Set();
    const kept = failedItemIds(outcome.result, new Set(records.map((record) => record.messageId)));
    if (kept === null) {
      this.#options.log({
        level: 'warn',
        message: 'SQS batch failed: malformed batchItemFailures response',
        mapping,
        requestId: outcome.requestId,
      });
    }
    return kept;
  }

  async #delete(records: SqsEventRecord[]): Promise<void> {
    for (let start = 0; start < records.length; start += MAX_MESSAGES_PER_RECEIVE) {
      const chunk = records.slice(start, start + MAX_MESSAGES_PER_RECEIVE);
      const response = await this.#options.clients.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.#options.queueUrl,
          Entries: chunk.map((record, index) => ({ Id: String(index), ReceiptHandle: record.receiptHandle })),
        }),
      );
      this.stats.deleted += response.Successful?.length ?? 0;
      if ((response.Failed ?? []).length > 0) {
        this.#options.log({
          level: 'warn',
          message: 'SQS delete failed',
          mapping: this.wiring.logicalId,
          failed: response.Failed,
        });
      }
    }
  }
}
