import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { ConditionFailedError } from '../errors/index.js';
import { batchGet, conditionalWrite, parseStored, timestamp } from './dynamo.js';
import { Expression } from './expressions.js';
import { CONTROL_EXPIRY_ATTRIBUTE } from './tables.js';
import type { RepositoryDeps } from './types.js';

/** A stored control value and the version a later write must name. */
export interface Versioned<T> {
  value: T;
  version: number;
}

/** Who may write a control item for now, and until when (epoch ms). */
export interface ControlLease {
  owner: string;
  until: number;
}

/** The outcome of asking for a lease: taken (with the stored value), or held by another owner. */
export type LeaseOutcome<T> =
  | { taken: true; stored: Versioned<T> | undefined }
  | { taken: false; heldBy: ControlLease };

const ControlItem = z.object({
  key: z.string(),
  // Absent while a lease was taken on a key never written.
  version: z.number().int().min(1).optional(),
  value: z.unknown().optional(),
  leaseOwner: z.string().optional(),
  leaseUntil: z.number().optional(),
});

/**
 * Small singleton items (e.g. the dispatcher's scheduler state), written with optimistic
 * concurrency: a write names the version it read, so two writers cannot both win. A writer
 * that must also exclude readers for a while (a dispatch pass) takes a lease on the item.
 * Counter items (the per-minute throughput record) change only by atomic additions.
 */
export class ControlRepo {
  readonly #deps: RepositoryDeps;

  constructor(deps: RepositoryDeps) {
    this.#deps = deps;
  }

  /** The value under `key`, validated with `schema`, or undefined if never written. */
  async get<Schema extends z.ZodType>(
    key: string,
    schema: Schema,
  ): Promise<Versioned<z.infer<Schema>> | undefined> {
    const response = await this.#deps.doc.send(
      new GetCommand({ TableName: this.#deps.tables.control, Key: { key }, ConsistentRead: true }),
    );
    return response.Item ? storedValue(key, schema, response.Item) : undefined;
  }

  /**
   * Takes the lease on `key` for `ttlMs` unless another owner holds one that has not expired,
   * and returns the stored value with it (one call: the lease is taken and the value read
   * together). The lease ends with `put(..., { leaseOwner })` or `release`, or when it expires.
   */
  async lease<Schema extends z.ZodType>(
    key: string,
    schema: Schema,
    request: { owner: string; ttlMs: number },
  ): Promise<LeaseOutcome<z.infer<Schema>>> {
    const now = this.#now();
    const expression = new Expression();
    const owner = expression.name('leaseOwner');
    const until = expression.name('leaseUntil');
    const ownerValue = expression.value(request.owner);
    const condition = `attribute_not_exists(${until}) OR ${until} < ${expression.value(now)} OR ${owner} = ${ownerValue}`;
    const update = `SET ${owner} = ${ownerValue}, ${until} = ${expression.value(now + request.ttlMs)}`;
    const result = await conditionalWrite(() =>
      this.#deps.doc.send(
        new UpdateCommand({
          TableName: this.#deps.tables.control,
          Key: { key },
          UpdateExpression: update,
          ConditionExpression: condition,
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ...expression.attributes(),
        }),
      ),
    );
    if (!result.ok) {
      const held = parseStored(ControlItem, result.current, `control item ${key}`);
      return { taken: false, heldBy: { owner: held.leaseOwner ?? '', until: held.leaseUntil ?? now } };
    }
    return { taken: true, stored: storedValue(key, schema, result.value.Attributes ?? { key }) };
  }

  /** Gives the lease up if `owner` still holds it; false when it had expired and another took it. */
  async release(key: string, owner: string): Promise<boolean> {
    const expression = new Expression();
    const result = await conditionalWrite(() =>
      this.#deps.doc.send(
        new UpdateCommand({
          TableName: this.#deps.tables.control,
          Key: { key },
          UpdateExpression: expression.update({ remove: ['leaseOwner', 'leaseUntil'] }),
          ConditionExpression: `${expression.name('leaseOwner')} = ${expression.value(owner)}`,
          ...expression.attributes(),
        }),
      ),
    );
    return result.ok;
  }

  /**
   * Writes `value` if the stored version is still `expectedVersion` (undefined: if nothing is
   * stored yet) and returns the new version; otherwise ConditionFailedError. With `leaseOwner`
   * it also requires that owner's lease, and gives it up.
   */
  async put(
    key: string,
    value: unknown,
    expectedVersion: number | undefined,
    options: { leaseOwner?: string } = {},
  ): Promise<number> {
    const version = (expectedVersion ?? 0) + 1;
    const expression = new Expression();
    const conditions = [
      expectedVersion === undefined
        ? `attribute_not_exists(${expression.name('version')})`
        : `${expression.name('version')} = ${expression.value(expectedVersion)}`,
    ];
    if (options.leaseOwner !== undefined) {
      conditions.push(`${expression.name('leaseOwner')} = ${expression.value(options.leaseOwner)}`);
    }
    const condition = conditions.join(' AND ');
    const result = await conditionalWrite(() =>
      this.#deps.doc.send(
        new PutCommand({
          TableName: this.#deps.tables.control,
          Item: { key, version, value, updatedAt: timestamp(this.#deps.clock) },
          ConditionExpression: condition,
          ...expression.attributes(),
        }),
      ),
    );
    if (!result.ok) {
      const lease = options.leaseOwner === undefined ? '' : ` or its lease is not ${options.leaseOwner}'s`;
      throw new ConditionFailedError(
        'control',
        key,
        `control item ${key} changed since version ${expectedVersion ?? 'none'}${lease}`,
      );
    }
    return version;
  }

  /**
   * Adds `amounts` to the numeric counters of `key` in one atomic update (an absent item or
   * counter starts at 0), and sets when DynamoDB may delete the item (TTL, epoch seconds).
   */
  async addCounters(
    key: string,
    amounts: Readonly<Record<string, number>>,
    expiresAtSeconds: number,
  ): Promise<void> {
    const expression = new Expression();
    const additions = Object.entries(amounts).map(
      ([name, amount]) => `${expression.name(name)} ${expression.value(amount)}`,
    );
    await this.#deps.doc.send(
      new UpdateCommand({
        TableName: this.#deps.tables.control,
        Key: { key },
        UpdateExpression: `ADD ${additions.join(', ')} SET ${expression.name(CONTROL_EXPIRY_ATTRIBUTE)} = ${expression.value(expiresAtSeconds)}`,
        ...expression.attributes(),
      }),
    );
  }

  /** The counters of those of `keys` that exist, by key: one BatchGetItem per 100 keys. */
  async getCounters<Schema extends z.ZodType>(
    keys: readonly string[],
    schema: Schema,
  ): Promise<Map<string, z.infer<Schema>>> {
    const items = await batchGet(
      this.#deps.doc,
      this.#deps.tables.control,
      [...new Set(keys)].map((key) => ({ key })),
    );
    return new Map(
      items.map((item) => {
        const key = String(item.key);
        return [key, parseStored(schema, item, `control counters ${key}`)];
      }),
    );
  }

  #now(): number {
    return (this.#deps.clock ?? (() => new Date()))().getTime();
  }
}

function storedValue<Schema extends z.ZodType>(
  key: string,
  schema: Schema,
  raw: unknown,
): Versioned<z.infer<Schema>> | undefined {
  const item = parseStored(ControlItem, raw, `control item ${key}`);
  if (item.version === undefined) return undefined;
  return { value: parseStored(schema, item.value, `control value ${key}`), version: item.version };
}
