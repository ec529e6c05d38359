/**
 * A DynamoDB stream event source mapping with Lambda's semantics: each shard is read in
 * order (parents before children), records no filter matches are skipped, batches of up to
 * BatchSize are gathered within MaximumBatchingWindowInSeconds and delivered one at a time
 * per shard. A failed batch is retried; with ReportBatchItemFailures from the lowest failed
 * sequence number on (the records before it count as done); with BisectBatchOnFunctionError
 * a failing batch is split in halves; after MaximumRetryAttempts the records are skipped and
 * reported (log entry, and the OnFailure queue when declared).
 *
 * Reads: while a shard holds more than a read returns, the next read follows at once; once a
 * mapping has caught up, it reads again 250 ms later (Lambda's four reads a second), and while
 * the shard stays empty it backs off to one read a second.
 */
import {
  DescribeStreamCommand,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type Shard,
  type ShardIteratorType,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { sleep } from '../../shared/async/index.js';
import type { AwsClients } from '../../shared/aws/index.js';
import { isAbortError } from './concurrency.js';
import { compileFilterCriteria, type RecordMatcher } from './filter-pattern.js';
import type { FunctionPool, InvocationOutcome } from './function-pool.js';
import type { RuntimeLog } from './log.js';
import type { StreamEventSourceWiring } from './types.js';

/** Lambda reads each shard of a stream four times a second; so does a mapping caught up with its shard. */
const POLL_INTERVAL_MS = 250;
const IDLE_MIN_MS = 250;
const IDLE_MAX_MS = 1_000;
const RETRY_BACKOFF_MS = 500;
const ERROR_BACKOFF_MS = 1_000;
/** Longest wait between DescribeStream calls while a stream has no shard to read yet. */
const DISCOVERY_MAX_PAUSE_MS = 5_000;
const GET_RECORDS_LIMIT = 1_000;

export interface StreamEventSourceOptions {
  wiring: StreamEventSourceWiring;
  streamArn: string;
  region: string;
  functionArn: string;
  onFailureQueueUrl: string | null;
  clients: AwsClients;
  pool: FunctionPool;
  log: RuntimeLog;
}

export interface StreamEventSourceStats {
  getRecords: number;
  batches: number;
  failedInvocations: number;
  delivered: number;
  filteredOut: number;
  discarded: number;
}

type AttributeValueJson = Record<string, unknown>;

/** One record of the DynamoDB stream event, shaped as Lambda delivers it. */
export interface StreamEventRecord {
  eventID: string;
  eventName: string;
  eventVersion: '1.1';
  eventSource: 'aws:dynamodb';
  awsRegion: string;
  dynamodb: {
    ApproximateCreationDateTime?: number;
    Keys: Record<string, AttributeValueJson>;
    NewImage?: Record<string, AttributeValueJson>;
    OldImage?: Record<string, AttributeValueJson>;
    SequenceNumber: string;
    SizeBytes: number;
    StreamViewType: string;
  };
  eventSourceARN: string;
}

/** The SDK decodes binary attributes to bytes; Lambda's JSON event carries them as base64. */
function attributeValueJson(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(attributeValueJson);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([key, item]) => key !== '$unknown' && item !== undefined)
        .map(([key, item]) => [key, attributeValueJson(item)]),
    );
  }
  return value;
}

function imageJson(
  image: Record<string, unknown> | undefined,
): Record<string, AttributeValueJson> | undefined {
  return image === undefined ? undefined : (attributeValueJson(image) as Record<string, AttributeValueJson>);
}

export function toStreamEventRecord(
  record: StreamRecord,
  streamArn: string,
  region: string,
): StreamEventRecord {
  const change = record.dynamodb ?? {};
  const created = change.ApproximateCreationDateTime;
  const newImage = imageJson(change.NewImage);
  const oldImage = imageJson(change.OldImage);
  return {
    eventID: record.eventID ?? '',
    eventName: record.eventName ?? '',
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: region,
    dynamodb: {
      ...(created !== undefined && { ApproximateCreationDateTime: Math.floor(created.getTime() / 1000) }),
      Keys: imageJson(change.Keys) ?? {},
      ...(newImage !== undefined && { NewImage: newImage }),
      ...(oldImage !== undefined && { OldImage: oldImage }),
      SequenceNumber: change.SequenceNumber ?? '',
      SizeBytes: change.SizeBytes ?? 0,
      StreamViewType: change.StreamViewType ?? '',
    },
    eventSourceARN: streamArn,
  };
}

/**
 * Index of the first record to retry after an invocation, or -1 when the batch succeeded.
 * A function error, a malformed response or an unknown item identifier retry the whole batch.
 */
export function firstFailedIndex(
  outcome: InvocationOutcome,
  records: readonly StreamEventRecord[],
  reportsItems: boolean,
): number {
  if (!outcome.ok) return 0;
  if (!reportsItems) return -1;
  const response = outcome.result;
  if (response === null || response === undefined) return -1;
  if (typeof response !== 'object' || Array.isArray(response)) return 0;
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === null || failures === undefined) return -1;
  if (!Array.isArray(failures)) return 0;
  let first = -1;
  for (const failure of failures) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    const index = records.findIndex((record) => record.dynamodb.SequenceNumber === id);
    if (index < 0) return 0;
    if (first < 0 || index < first) first = index;
  }
  return first;
}

interface ShardReader {
  shardId: string;
  iterator: string | undefined;
  /** Sequence number of the last record read, to re-open an expired iterator after it. */
  lastRead: string | undefined;
}

interface PendingBatch {
  records: StreamEventRecord[];
  attempts: number;
}

export class StreamEventSource {
  readonly stats: StreamEventSourceStats = {
    getRecords: 0,
    batches: 0,
    failedInvocations: 0,
    delivered: 0,
    filteredOut: 0,
    discarded: 0,
  };
  readonly #options: StreamEventSourceOptions;
  readonly #abort = new AbortController();
  readonly #matches: RecordMatcher;
  readonly #done = new Set<string>();
  readonly #readers = new Map<string, Promise<void>>();
  #loop: Promise<void> | undefined;

  constructor(options: StreamEventSourceOptions) {
    this.#options = options;
    this.#matches = compileFilterCriteria(options.wiring.filters);
  }

  get wiring(): StreamEventSourceWiring {
    return this.#options.wiring;
  }

  get streamArn(): string {
    return this.#options.streamArn;
  }

  get running(): boolean {
    return this.#loop !== undefined && !this.#abort.signal.aborted;
  }

  start(): void {
    this.#loop ??= this.#discover(true);
  }

  abort(): void {
    this.#abort.abort();
  }

  async stop(): Promise<void> {
    this.abort();
    await this.#loop;
    await Promise.all(this.#readers.values());
  }

  #log(level: 'info' | 'warn' | 'error', message: string, fields: Record<string, unknown> = {}): void {
    this.#options.log({ level, message, mapping: this.wiring.logicalId, ...fields });
  }

  async #listShards(): Promise<Shard[]> {
    const shards: Shard[] = [];
    let exclusiveStartShardId: string | undefined;
    do {
      const response = await this.#options.clients.streams.send(
        new DescribeStreamCommand({
          StreamArn: this.#options.streamArn,
          ExclusiveStartShardId: exclusiveStartShardId,
        }),
        { abortSignal: this.#abort.signal },
      );
      shards.push(...(response.StreamDescription?.Shards ?? []));
      exclusiveStartShardId = response.StreamDescription?.LastEvaluatedShardId;
    } while (exclusiveStartShardId !== undefined);
    return shards;
  }

  /** Starts a reader for every shard whose parent is done (or gone); retries while there is none. */
  async #discover(initial: boolean): Promise<void> {
    const signal = this.#abort.signal;
    let pause = IDLE_MIN_MS;
    while (!signal.aborted) {
      let shards: Shard[];
      try {
        shards = await this.#listShards();
      } catch (error) {
        if (signal.aborted) return;
        this.#log('warn', 'DescribeStream failed', { error: String(error) });
        await sleep(ERROR_BACKOFF_MS, signal);
        continue;
      }
      const listed = new Set(shards.map((shard) => shard.ShardId));
      // LATEST at start: closed shards hold nothing new, so they count as done.
      const latest = initial && this.wiring.startingPosition === 'LATEST';
      if (latest) {
        for (const shard of shards) {
          if (shard.ShardId !== undefined && shard.SequenceNumberRange?.EndingSequenceNumber !== undefined) {
            this.#done.add(shard.ShardId);
          }
        }
      }
      let started = 0;
      for (const shard of shards) {
        const shardId = shard.ShardId;
        if (shardId === undefined || this.#done.has(shardId) || this.#readers.has(shardId)) continue;
        const parent = shard.ParentShardId;
        if (parent !== undefined && listed.has(parent) && !this.#done.has(parent)) continue;
        this.#startReader(shardId, latest ? 'LATEST' : 'TRIM_HORIZON');
        started += 1;
      }
      if (started > 0 || this.#readers.size > 0) return;
      initial = false;
      await sleep(pause, signal);
      pause = Math.min(pause * 2, DISCOVERY_MAX_PAUSE_MS);
    }
  }

  #startReader(shardId: string, position: ShardIteratorType): void {
    const reader = this.#read(shardId, position)
      .catch((error: unknown) => this.#log('error', 'shard reader failed', { shardId, error: String(error) }))
      .finally(() => {
        this.#readers.delete(shardId);
        if (!this.#abort.signal.aborted && this.#done.has(shardId)) this.#loop = this.#discover(false);
      });
    this.#readers.set(shardId, reader);
  }

  async #iterator(
    shardId: string,
    type: ShardIteratorType,
    sequenceNumber?: string,
  ): Promise<string | undefined> {
    const response = await this.#options.clients.streams.send(
      new GetShardIteratorCommand({
        StreamArn: this.#options.streamArn,
        ShardId: shardId,
        ShardIteratorType: type,
        SequenceNumber: sequenceNumber,
      }),
      { abortSignal: this.#abort.signal },
    );
    return response.ShardIterator;
  }

  async #read(shardId: string, position: ShardIteratorType): Promise<void> {
    const signal = this.#abort.signal;
    const reader: ShardReader = { shardId, iterator: undefined, lastRead: undefined };
    try {
      reader.iterator = await this.#iterator(shardId, position);
    } catch (error) {
      if (isAbortError(error) || signal.aborted) return;
      throw error;
    }
    let idleMs = IDLE_MIN_MS;
    let nextReadAt = 0;
    while (!signal.aborted && reader.iterator !== undefined) {
      const batch: StreamEventRecord[] = [];
      let windowEnds: number | undefined;
      while (!signal.aborted) {
        if (windowEnds !== undefined && windowEnds <= nextReadAt) {
          // The window closes before the next read is due: deliver what it gathered.
          if (windowEnds > Date.now()) await sleep(windowEnds - Date.now(), signal);
          break;
        }
        if (nextReadAt > Date.now()) await sleep(nextReadAt - Date.now(), signal);
        if (signal.aborted) break;
        const wanted = this.wiring.batchSize - batch.length;
        const read = await this.#getRecords(reader, wanted);
        if (read === null) break;
        const readAt = Date.now();
        batch.push(...read.records);
        if (batch.length > 0 && windowEnds === undefined) {
          windowEnds = readAt + this.wiring.maximumBatchingWindowInSeconds * 1000;
        }
        if (read.rawCount >= Math.min(wanted, GET_RECORDS_LIMIT)) {
          // The shard may hold more: read on at once.
          nextReadAt = readAt;
          idleMs = IDLE_MIN_MS;
        } else if (read.rawCount > 0) {
          nextReadAt = readAt + POLL_INTERVAL_MS;
          idleMs = IDLE_MIN_MS;
        } else {
          nextReadAt = readAt + idleMs;
          idleMs = Math.min(idleMs * 2, IDLE_MAX_MS);
        }
        if (reader.iterator === undefined || batch.length >= this.wiring.batchSize) break;
        if (windowEnds !== undefined && readAt >= windowEnds) break;
      }
      if (batch.length > 0) await this.#deliver(shardId, batch);
    }
    if (reader.iterator === undefined) this.#done.add(shardId);
  }

  /** One GetRecords; null when it failed (and was logged) or was aborted. */
  async #getRecords(
    reader: ShardReader,
    wanted: number,
  ): Promise<{ records: StreamEventRecord[]; rawCount: number } | null> {
    const signal = this.#abort.signal;
    try {
      this.stats.getRecords += 1;
      const response = await this.#options.clients.streams.send(
        new GetRecordsCommand({
          ShardIterator: reader.iterator,
          Limit: Math.min(wanted, GET_RECORDS_LIMIT),
        }),
        { abortSignal: signal },
      );
      reader.iterator = response.NextShardIterator;
      const raw = response.Records ?? [];
      const last = raw.at(-1)?.dynamodb?.SequenceNumber;
      if (last !== undefined) reader.lastRead = last;
      const { streamArn, region } = this.#options;
      const records = raw
        .map((record) => toStreamEventRecord(record, streamArn, region))
        .filter((record) => this.#matches(record));
      this.stats.filteredOut += raw.length - records.length;
      return { records, rawCount: raw.length };
    } catch (error) {
      if (isAbortError(error) || signal.aborted) return null;
      if (error instanceof ExpiredIteratorException) {
        reader.iterator = await this.#iterator(
          reader.shardId,
          reader.lastRead === undefined ? 'TRIM_HORIZON' : 'AFTER_SEQUENCE_NUMBER',
          reader.lastRead,
        );
        return { records: [], rawCount: 0 };
      }
      this.#log('warn', 'GetRecords failed', { shardId: reader.shardId, error: String(error) });
      await sleep(ERROR_BACKOFF_MS, signal);
      return { records: [], rawCount: 0 };
    }
  }

  /** Delivers one batch until every record succeeded or was discarded (or the runtime stops). */
  async #deliver(shardId: string, records: StreamEventRecord[]): Promise<void> {
    const signal = this.#abort.signal;
    const { maximumRetryAttempts, bisectBatchOnFunctionError, reportBatchItemFailures } = this.wiring;
    const queue: PendingBatch[] = [{ records, attempts: 0 }];
    while (queue.length > 0 && !signal.aborted) {
      const current = queue[0] as PendingBatch;
      this.stats.batches += 1;
      const outcome = await this.#options.pool.invoke(this.wiring.function, { Records: current.records });
      const failedFrom = firstFailedIndex(outcome, current.records, reportBatchItemFailures);
      this.stats.delivered += failedFrom < 0 ? current.records.length : failedFrom;
      if (failedFrom < 0) {
        queue.shift();
        continue;
      }
      this.stats.failedInvocations += 1;
      current.records = current.records.slice(failedFrom);
      current.attempts += 1;
      if (maximumRetryAttempts >= 0 && current.attempts > maximumRetryAttempts) {
        queue.shift();
        await this.#discard(shardId, current, outcome);
        continue;
      }
      if (bisectBatchOnFunctionError && current.records.length > 1) {
        const middle = Math.ceil(current.records.length / 2);
        queue.splice(
          0,
          1,
          { records: current.records.slice(0, middle), attempts: current.attempts },
          { records: current.records.slice(middle), attempts: current.attempts },
        );
      }
      await sleep(RETRY_BACKOFF_MS, signal);
    }
  }

  /** Skips records whose retries are exhausted: a log entry, and Lambda's failure record on the OnFailure queue. */
  async #discard(shardId: string, batch: PendingBatch, outcome: InvocationOutcome): Promise<void> {
    this.stats.discarded += batch.records.length;
    const first = batch.records[0];
    const last = batch.records.at(-1);
    const arrival = (record: StreamEventRecord | undefined) =>
      new Date((record?.dynamodb.ApproximateCreationDateTime ?? 0) * 1000).toISOString();
    const failureRecord = {
      requestContext: {
        requestId: outcome.requestId,
        functionArn: this.#options.functionArn,
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: batch.attempts,
      },
      responseContext: {
        statusCode: 200,
        executedVersion: '$LATEST',
        functionError: outcome.ok ? 'BatchItemFailures' : outcome.error.errorType,
      },
      version: '1.0',
      timestamp: new Date().toISOString(),
      DDBStreamBatchInfo: {
        shardId,
        startSequenceNumber: first?.dynamodb.SequenceNumber,
        endSequenceNumber: last?.dynamodb.SequenceNumber,
        approximateArrivalOfFirstRecord: arrival(first),
        approximateArrivalOfLastRecord: arrival(last),
        batchSize: batch.records.length,
        streamArn: this.#options.streamArn,
      },
    };
    this.#log('warn', 'stream records skipped after retries', { failure: failureRecord });
    if (this.#options.onFailureQueueUrl !== null) {
      await this.#options.clients.sqs.send(
        new SendMessageCommand({
          QueueUrl: this.#options.onFailureQueueUrl,
          MessageBody: JSON.stringify(failureRecord),
        }),
      );
    }
  }
}
