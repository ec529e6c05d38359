/**
 * The runtime's own state, kept in the emulator next to the stack's so a restarted runtime
 * carries on where the last one stopped, as Lambda's event source mappings and EventBridge
 * schedules do: the last sequence number each stream mapping processed on each shard, and
 * when each schedule last fired. One table per prefix, `<prefix>.runtime-state`: the dot
 * keeps it apart from the stack's `<prefix>-<name>` resources.
 *
 * Writes are conditional and only move forward, so a late write of a runtime that was
 * replaced cannot move a position back.
 */
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { AwsClients } from '../../shared/aws/index.js';
import { waitUntilTableActive } from './provision.js';

export function runtimeStateTableName(prefix: string): string {
  return `${prefix}.runtime-state`;
}

/** Where one stream mapping resumes on each shard of one stream. */
export interface StreamCheckpoints {
  /** Whether the mapping ran before on this stream; marks it as having run. */
  ranBefore(): Promise<boolean>;
  /** The last sequence number processed on the shard, if any. */
  position(shardId: string): Promise<string | undefined>;
  /** Records that every record up to `sequenceNumber` was processed. */
  save(shardId: string, sequenceNumber: string): Promise<void>;
}

export class RuntimeState {
  readonly #clients: AwsClients;
  readonly tableName: string;

  private constructor(clients: AwsClients, tableName: string) {
    this.#clients = clients;
    this.tableName = tableName;
  }

  /** The state table of `prefix`, created when missing; ACTIVE on return. */
  static async open(clients: AwsClients, prefix: string): Promise<RuntimeState> {
    const tableName = runtimeStateTableName(prefix);
    try {
      await clients.dynamo.send(
        new CreateTableCommand({
          TableName: tableName,
          BillingMode: 'PAY_PER_REQUEST',
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        }),
      );
    } catch (error) {
      if (!(error instanceof Error && error.name === 'ResourceInUseException')) throw error;
    }
    await waitUntilTableActive(clients, tableName);
    return new RuntimeState(clients, tableName);
  }

  streamCheckpoints(mapping: string, streamArn: string): StreamCheckpoints {
    const id = (part: string) => `stream|${mapping}|${streamArn}|${part}`;
    return {
      ranBefore: async () => {
        try {
          await this.#clients.dynamo.send(
            new PutItemCommand({
              TableName: this.tableName,
              Item: { id: { S: id('started') }, at: { N: String(Date.now()) } },
              ConditionExpression: 'attribute_not_exists(id)',
            }),
          );
          return false;
        } catch (error) {
          if (error instanceof ConditionalCheckFailedException) return true;
          throw error;
        }
      },
      position: async (shardId) => (await this.#read(id(`shard|${shardId}`)))?.toString(),
      save: (shardId, sequenceNumber) => this.#advance(id(`shard|${shardId}`), sequenceNumber),
    };
  }

  /** When the schedule last fired (epoch ms), if ever. */
  async lastFired(rule: string): Promise<number | undefined> {
    const value = await this.#read(`schedule|${rule}`);
    return value === undefined ? undefined : Number(value);
  }

  async saveFired(rule: string, at: number): Promise<void> {
    await this.#advance(`schedule|${rule}`, String(at));
  }

  async #read(id: string): Promise<string | undefined> {
    const response = await this.#clients.dynamo.send(
      new GetItemCommand({ TableName: this.tableName, Key: { id: { S: id } }, ConsistentRead: true }),
    );
    return response.Item?.value?.N;
  }

  /** Sets the item's number unless it already holds a larger one. */
  async #advance(id: string, value: string): Promise<void> {
    try {
      await this.#clients.dynamo.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: { id: { S: id }, value: { N: value }, updatedAt: { N: String(Date.now()) } },
          ConditionExpression: 'attribute_not_exists(id) OR #value < :value',
          ExpressionAttributeNames: { '#value': 'value' },
          ExpressionAttributeValues: { ':value': { N: value } },
        }),
      );
    } catch (error) {
      // Already further: nothing to record.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
}
