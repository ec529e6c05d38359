/**
 * Low-level DynamoDB plumbing shared by the repositories: transactions with their
 * cancellation reasons, conditional single writes, batched reads, page cursors and
 * validation of stored items.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteCommand,
  type TransactWriteItem,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { z } from 'zod';
import { CorruptItemError, ValidationError } from '../errors/index.js';
import {
  BATCH_GET_LIMIT,
  CONTENTION_BACKOFF_BASE_MS,
  CONTENTION_BACKOFF_MAX_MS,
  CONTENTION_RETRIES,
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  TRANSACTION_ITEM_LIMIT,
} from './constants.js';
import type { Page, PageRequest, StoredItem } from './types.js';

/** Why DynamoDB refused one item of a cancelled transaction; `item` is its current value. */
export interface ItemRefusal {
  code: string;
  item?: StoredItem;
}

// Reasons that say nothing about the item's condition: another writer was busy with it.
const CONTENTION_CODES = new Set(['TransactionConflict', 'ThrottlingError', 'ProvisionedThroughputExceeded']);

function backoff(attempt: number): Promise<void> {
  const ceiling = Math.min(CONTENTION_BACKOFF_MAX_MS, CONTENTION_BACKOFF_BASE_MS * 2 ** attempt);
  return sleep(Math.random() * ceiling);
}

/**
 * Writes `items` in one transaction. Returns undefined when it committed, or the per-item
 * reasons when conditions refused it. Cancellations caused only by contention (a concurrent
 * transaction on the same counter item) are retried with jittered backoff; the SDK error is
 * thrown when contention outlasts the retries.
 */
export async function transactWrite(
  doc: DynamoDBDocumentClient,
  items: TransactWriteItem[],
): Promise<ItemRefusal[] | undefined> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      await doc.send(new TransactWriteCommand({ TransactItems: items }));
      return undefined;
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const reasons = (error.CancellationReasons ?? []).map((reason) => ({
        code: reason.Code ?? 'None',
        ...(reason.Item ? { item: unmarshall(reason.Item) } : {}),
      }));
      if (reasons.some((reason) => reason.code === 'ConditionalCheckFailed')) return reasons;
      const onlyContention = reasons.every(
        (reason) => reason.code === 'None' || CONTENTION_CODES.has(reason.code),
      );
      if (!onlyContention || attempt >= CONTENTION_RETRIES) throw error;
      await backoff(attempt);
    }
  }
}

/**
 * Runs a conditional single-item write. Returns `{ ok: true, value }`, or `{ ok: false,
 * current }` with the item as it is (absent when it does not exist) when the condition failed.
 * Requests must ask for ReturnValuesOnConditionCheckFailure: ALL_OLD.
 */
export async function conditionalWrite<T>(
  write: () => Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; current: StoredItem | undefined }> {
  try {
    return { ok: true, value: await write() };
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    return { ok: false, current: error.Item ? unmarshall(error.Item) : undefined };
  }
}

/** Parses a stored item with its record schema; a corrupt item is a CorruptItemError, never passed on. */
export function parseStored<Schema extends z.ZodType>(
  schema: Schema,
  item: unknown,
  entity: string,
): z.infer<Schema> {
  const parsed = schema.safeParse(item);
  if (!parsed.success) throw CorruptItemError.fromZod(entity, parsed.error);
  return parsed.data;
}

/** Reads items by key with BatchGetItem, 100 keys a call, retrying unprocessed keys. */
export async function batchGet(
  doc: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly StoredItem[],
): Promise<StoredItem[]> {
  const found: StoredItem[] = [];
  for (let start = 0; start < keys.length; start += BATCH_GET_LIMIT) {
    let pending: StoredItem[] | undefined = keys.slice(start, start + BATCH_GET_LIMIT);
    for (let attempt = 0; pending && pending.length > 0; attempt += 1) {
      if (attempt > 0) await backoff(attempt - 1);
      const response: BatchGetCommandOutput = await doc.send(
        new BatchGetCommand({ RequestItems: { [tableName]: { Keys: pending, ConsistentRead: true } } }),
      );
      found.push(...(response.Responses?.[tableName] ?? []));
      pending = response.UnprocessedKeys?.[tableName]?.Keys;
    }
  }
  return found;
}

/** An opaque page cursor: the query's LastEvaluatedKey, base64url-encoded. */
export function encodeCursor(lastEvaluatedKey: StoredItem | undefined): string | undefined {
  return lastEvaluatedKey
    ? Buffer.from(JSON.stringify(lastEvaluatedKey), 'utf8').toString('base64url')
    : undefined;
}

export function decodeCursor(cursor: string | undefined): StoredItem | undefined {
  if (cursor === undefined) return undefined;
  try {
    const key: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (key !== null && typeof key === 'object' && !Array.isArray(key)) return key as StoredItem;
  } catch {
    // Reported below with the field path.
  }
  throw new ValidationError('invalid page request', [
    { path: 'cursor', message: 'is not a cursor this service issued' },
  ]);
}

/** One page of a query; `cursor` continues where the previous page stopped. */
export async function queryPage<T>(
  doc: DynamoDBDocumentClient,
  query: Omit<QueryCommandInput, 'Limit' | 'ExclusiveStartKey'>,
  page: PageRequest,
  parse: (item: StoredItem) => T,
): Promise<Page<T>> {
  const limit = page.limit ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new ValidationError('invalid page request', [
      { path: 'limit', message: `must be an integer from 1 to ${MAX_PAGE_SIZE}` },
    ]);
  }
  const response = await doc.send(
    new QueryCommand({ ...query, Limit: limit, ExclusiveStartKey: decodeCursor(page.cursor) }),
  );
  const cursor = encodeCursor(response.LastEvaluatedKey);
  return { items: (response.Items ?? []).map(parse), ...(cursor ? { cursor } : {}) };
}

/** Every item of a paged listing, page after page. */
export async function listAllPages<T>(page: (cursor: string | undefined) => Promise<Page<T>>): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const result = await page(cursor);
    items.push(...result.items);
    cursor = result.cursor;
  } while (cursor !== undefined);
  return items;
}

/** The repositories' clock as an ISO-8601 timestamp. */
export function timestamp(clock: (() => Date) | undefined): string {
  return (clock ? clock() : new Date()).toISOString();
}

/** One write of a batch, tagged with the counter (task, dataset) it moves. */
export interface BatchEntry<E> {
  entry: E;
  counterKey: string;
  write: TransactWriteItem;
}

/** An entry refused by its own condition, or by the condition of its counter's item. */
export interface EntryRefusal<E> {
  entry: E;
  refusedBy: 'entry' | 'counter';
  refusal: ItemRefusal;
}

export interface BatchOutcome<E> {
  written: E[];
  refused: EntryRefusal<E>[];
}

/**
 * Writes entries with their counter updates in as few transactions as the 100-item limit
 * allows: each transaction holds some entries plus one counter item per distinct counter key,
 * built from exactly the entries in it, so counters move only with writes that commit. When
 * conditions cancel a transaction, the refused entries (and every entry of a refused counter)
 * are dropped and the rest is sent again; each round drops at least one entry, so it ends.
 */
export async function writeBatch<E>(
  doc: DynamoDBDocumentClient,
  entries: readonly BatchEntry<E>[],
  counterWrite: (counterKey: string, entries: readonly BatchEntry<E>[]) => TransactWriteItem,
): Promise<BatchOutcome<E>> {
  const outcome: BatchOutcome<E> = { written: [], refused: [] };
  for (const chunk of chunkByCounters(entries)) {
    let pending = chunk;
    while (pending.length > 0) {
      const counterKeys = [...new Set(pending.map((entry) => entry.counterKey))];
      const counterItems = counterKeys.map((key) =>
        counterWrite(
          key,
          pending.filter((entry) => entry.counterKey === key),
        ),
      );
      const reasons = await transactWrite(doc, [...pending.map((entry) => entry.write), ...counterItems]);
      if (!reasons) {
        outcome.written.push(...pending.map((entry) => entry.entry));
        break;
      }
      const refusedCounters = new Map<string, ItemRefusal>();
      counterKeys.forEach((key, index) => {
        const reason = reasons[pending.length + index];
        if (reason?.code === 'ConditionalCheckFailed') refusedCounters.set(key, reason);
      });
      const next: BatchEntry<E>[] = [];
      pending.forEach((entry, index) => {
        const reason = reasons[index];
        const counterRefusal = refusedCounters.get(entry.counterKey);
        if (reason?.code === 'ConditionalCheckFailed') {
          outcome.refused.push({ entry: entry.entry, refusedBy: 'entry', refusal: reason });
        } else if (counterRefusal) {
          outcome.refused.push({ entry: entry.entry, refusedBy: 'counter', refusal: counterRefusal });
        } else {
          next.push(entry);
        }
      });
      pending = next;
    }
  }
  return outcome;
}

/** Splits entries into groups whose writes plus one counter item per distinct key fit a transaction. */
function chunkByCounters<E>(entries: readonly BatchEntry<E>[]): BatchEntry<E>[][] {
  const chunks: BatchEntry<E>[][] = [];
  let current: BatchEntry<E>[] = [];
  let keys = new Set<string>();
  for (const entry of entries) {
    const addsKey = !keys.has(entry.counterKey);
    if (current.length + keys.size + 1 + (addsKey ? 1 : 0) > TRANSACTION_ITEM_LIMIT) {
      chunks.push(current);
      current = [];
      keys = new Set();
    }
    current.push(entry);
    keys.add(entry.counterKey);
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** Throws a ValidationError naming each repeated id: one transaction may not write an item twice. */
export function rejectDuplicates(ids: readonly string[], field: string): void {
  const seen = new Set<string>();
  const issues = [];
  for (const [index, id] of ids.entries()) {
    if (seen.has(id)) issues.push({ path: `${field}.${index}`, message: `duplicate ${id}` });
    seen.add(id);
  }
  if (issues.length > 0) throw new ValidationError('invalid batch', issues);
}
