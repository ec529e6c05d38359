import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { ConditionFailedError } from '../errors/index.js';
import { conditionalWrite, parseStored, timestamp } from './dynamo.js';
import { Expression } from './expressions.js';
import type { RepositoryDeps } from './types.js';

/** A stored control value and the version a later write must name. */
export interface Versioned<T> {
  value: T;
  version: number;
}

const ControlItem = z.object({ key: z.string(), version: z.number().int().min(1), value: z.unknown() });

/**
 * Small singleton items (e.g. the dispatcher's scheduler state), written with optimistic
 * concurrency: a write names the version it read, so two writers cannot both win.
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
    if (!response.Item) return undefined;
    const item = parseStored(ControlItem, response.Item, `control item ${key}`);
    return { value: parseStored(schema, item.value, `control value ${key}`), version: item.version };
  }

  /**
   * Writes `value` if the stored version is still `expectedVersion` (undefined: if nothing is
   * stored yet) and returns the new version; otherwise ConditionFailedError.
   */
  async put(key: string, value: unknown, expectedVersion: number | undefined): Promise<number> {
    const version = (expectedVersion ?? 0) + 1;
    const expression = new Expression();
    const condition =
      expectedVersion === undefined
        ? `attribute_not_exists(${expression.name('key')})`
        : `${expression.name('version')} = ${expression.value(expectedVersion)}`;
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
      throw new ConditionFailedError(
        'control',
        key,
        `control item ${key} changed since version ${expectedVersion ?? 'none'}`,
      );
    }
    return version;
  }
}
