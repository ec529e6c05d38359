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
 *
 * Restarts: with checkpoints, each shard's last processed sequence number is saved after each
 * delivered batch, and a new start resumes after it (TRIM_HORIZON for a shard without one;
 * LATEST only on the mapping's first start). A failed read is followed by a fresh iterator
 * after the last record read, with a backoff that doubles up to 30 s.
 */
import {
  DescribeStreamCommand,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type Shard,
  type ShardIteratorType,
  type _Record as StreamRecord,
  TrimmedDataAccessException,
} from '@aws-sdk/client-dynamodb-streams';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { sleep } from '../../shared/async/index.js';
import type { AwsClients } from '../../shared/aws/index.js';
import type { StreamCheckpoints } from './checkpoints.js';
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
/** After a failed read the wait doubles from the first to the last, and resets on success. */
const ERROR_BACKOFF_MS = 1_000;
const ERROR_BACKOFF_MAX_MS = 30_000;
/** While a mapping reads only records its filters skip, its checkpoint moves at most this often. */
const FILTERED_CHECKPOINT_INTERVAL_MS = 1_000;
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
  /** Where the mapping resumes after a restart; without it every start is the first. */
  checkpoints?: StreamCheckpoints;
}

export interface StreamEventSourceStats {
  getRecords: number;
  batches: number;
  failedInvocations: number;
  delivered: number;
  filteredOut: number;
  discarded: number;
  /** Reads and iterator requests that failed (each followed by a fresh iterator). */
  readErrors: number;
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
  /** Undefined once the shard is closed and read to its end (unless `stale`). */
  iterator: string | undefined;
  /** The iterator cannot be used (not taken yet, expired, or a read failed): take a fresh one. */
  stale: boolean;
  /** Where a fresh iterator starts when nothing was read yet: TRIM_HORIZON, or LATEST on a mapping's first start. */
  initialPosition: ShardIteratorType;
  /** Sequence number of the last record read (starting at the checkpoint): fresh iterators start after it. */
  lastRead: string | undefined;
  /** The last sequence number saved as the checkpoint. */
  saved: string | undefined;
  savedAt: number;
  errorBackoffMs: number;
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
    readErrors: 0,
  };
  readonly #options: StreamEventSourceOptions;
  readonly #abort = new AbortController();
  readonly #matches: RecordMatcher;
  readonly #done = new Set<string>();
  readonly #readers = new Map<string, Promise<void>>();
  #loop: Promise<void> | undefined;
  /** Whether this start reads shards without a checkpoint from LATEST; known after the first discovery. */
  #firstStart: boolean | undefined;

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
    this.#loop ??= this.#discover();
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

  /**
   * Whether a shard without a checkpoint is read from its LATEST position: only on the
   * mapping's first start. Once it ran, a shard without a checkpoint is read from
   * TRIM_HORIZON, so a restart leaves no gap.
   */
  async #firstStartAtLatest(): Promise<boolean> {
    if (this.wiring.startingPosition !== 'LATEST') return false;
    const checkpoints = this.#options.checkpoints;
    return checkpoints === undefined || !(await checkpoints.ranBefore());
  }

  /** Starts a reader for every shard whose parent is done (or gone); retries while there is none. */
  async #discover(): Promise<void> {
    const signal = this.#abort.signal;
    let pause = IDLE_MIN_MS;
    let initial = this.#firstStart === undefined;
    while (!signal.aborted) {
      if (this.#firstStart === undefined) {
        try {
          this.#firstStart = await this.#firstStartAtLatest();
        } catch (error) {
          if (signal.aborted) return;
          this.#log('warn', 'reading the mapping state failed', { error: String(error) });
          await sleep(ERROR_BACKOFF_MS, signal);
          continue;
        }
      }
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
      const latest = initial && this.#firstStart === true;
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
        if (!this.#abort.signal.aborted && this.#done.has(shardId)) this.#loop = this.#discover();
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
    const reader: ShardReader = {
      shardId,
      iterator: undefined,
      stale: true,
      initialPosition: position,
      lastRead: undefined,
      saved: undefined,
      savedAt: 0,
      errorBackoffMs: ERROR_BACKOFF_MS,
    };
    if (!(await this.#resumePosition(reader))) return;
    let idleMs = IDLE_MIN_MS;
    let nextReadAt = 0;
    while (!signal.aborted && (reader.stale || reader.iterator !== undefined)) {
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
        if (batch.length === 0 && reader.lastRead !== reader.saved) {
          // Only skipped records so far: they count as processed.
          if (readAt - reader.savedAt >= FILTERED_CHECKPOINT_INTERVAL_MS) await this.#checkpoint(reader);
        }
        if ((!reader.stale && reader.iterator === undefined) || batch.length >= this.wiring.batchSize) break;
        if (windowEnds !== undefined && readAt >= windowEnds) break;
      }
      if (batch.length > 0 && (await this.#deliver(shardId, batch))) await this.#checkpoint(reader);
    }
    if (!reader.stale && reader.iterator === undefined) {
      if (reader.lastRead !== reader.saved) await this.#checkpoint(reader);
      this.#done.add(shardId);
    }
  }

  /** Starts the reader after the shard's checkpoint, if it has one; false when aborted first. */
  async #resumePosition(reader: ShardReader): Promise<boolean> {
    const checkpoints = this.#options.checkpoints;
    const signal = this.#abort.signal;
    while (checkpoints !== undefined && !signal.aborted) {
      try {
        reader.lastRead = await checkpoints.position(reader.shardId);
        reader.saved = reader.lastRead;
        return true;
      } catch (error) {
        if (signal.aborted) break;
        this.#log('warn', 'reading the checkpoint failed', { shardId: reader.shardId, error: String(error) });
        await this.#backOff(reader);
      }
    }
    return !signal.aborted;
  }

  /**
   * Records what the reader has read as processed; a failure is logged, the next batch saves
   * again. Also while stopping: a batch delivered before the stop is not delivered again.
   */
  async #checkpoint(reader: ShardReader): Promise<void> {
    const checkpoints = this.#options.checkpoints;
    const position = reader.lastRead;
    if (checkpoints === undefined || position === undefined) return;
    try {
      await checkpoints.save(reader.shardId, position);
      reader.saved = position;
      reader.savedAt = Date.now();
    } catch (error) {
      this.#log('warn', 'saving the checkpoint failed', { shardId: reader.shardId, error: String(error) });
    }
  }

  async #backOff(reader: ShardReader): Promise<void> {
    await sleep(reader.errorBackoffMs, this.#abort.signal);
    reader.errorBackoffMs = Math.min(reader.errorBackoffMs * 2, ERROR_BACKOFF_MAX_MS);
  }

  /**
   * A fresh iterator after the last record read (or the checkpoint), else at the initial
   * position. A checkpoint older than the stream's retention resumes at TRIM_HORIZON.
   */
  async #freshIterator(reader: ShardReader): Promise<void> {
    const { shardId, lastRead } = reader;
    if (lastRead === undefined) {
      reader.iterator = await this.#iterator(shardId, reader.initialPosition);
    } else {
      try {
        reader.iterator = await this.#iterator(shardId, 'AFTER_SEQUENCE_NUMBER', lastRead);
      } catch (error) {
        if (!(error instanceof TrimmedDataAccessException)) throw error;
        this.#log('warn', 'records after the checkpoint left the stream; reading from TRIM_HORIZON', {
          shardId,
          sequenceNumber: lastRead,
        });
        reader.iterator = await this.#iterator(shardId, 'TRIM_HORIZON');
      }
    }
    reader.stale = false;
  }

  /** One GetRecords; null when aborted. A failed read is logged and followed by a fresh iterator. */
  async #getRecords(
    reader: ShardReader,
    wanted: number,
  ): Promise<{ records: StreamEventRecord[]; rawCount: number } | null> {
    const signal = this.#abort.signal;
    const nothing = { records: [], rawCount: 0 };
    try {
      if (reader.stale) await this.#freshIterator(reader);
      this.stats.getRecords += 1;
      const response = await this.#options.clients.streams.send(
        new GetRecordsCommand({
          ShardIterator: reader.iterator,
          Limit: Math.min(wanted, GET_RECORDS_LIMIT),
        }),
        { abortSignal: signal },
      );
      reader.iterator = response.NextShardIterator;
      reader.errorBackoffMs = ERROR_BACKOFF_MS;
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
      reader.stale = true;
      // An expired iterator is routine (Lambda's last 15 minutes): renew it at once.
      if (error instanceof ExpiredIteratorException) return nothing;
      this.stats.readErrors += 1;
      this.#log('warn', 'reading the shard failed; retrying with a fresh iterator', {
        shardId: reader.shardId,
        retryInMs: reader.errorBackoffMs,
        error: String(error),
      });
      await this.#backOff(reader);
      return signal.aborted ? null : nothing;
    }
  }

  /**
   * Delivers one batch until every record succeeded or was discarded; false when the runtime
   * stopped first (the batch is then not checkpointed).
   */
  async #deliver(shardId: string, records: StreamEventRecord[]): Promise<boolean> {
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
    return queue.length === 0;
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
