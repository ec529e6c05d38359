import { randomBytes } from 'node:crypto';
import { CreateTableCommand, type DynamoDBClient, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { awsClients } from '../../shared/aws/index.js';
import {
  createTableInput,
  TABLE_SPECS,
  type TableKey,
  type TableNames,
} from '../../shared/repositories/index.js';

/** A prefix no other suite (or earlier run against the same emulator) uses. */
export function uniquePrefix(label: string): string {
  return `${label}-${randomBytes(4).toString('hex')}`;
}

/** Creates every table of the spec as `${prefix}-${logicalName}`, waits until usable, returns the names. */
export async function createTables(
  prefix: string,
  dynamo: DynamoDBClient = awsClients().dynamo,
): Promise<TableNames> {
  const keys = Object.keys(TABLE_SPECS) as TableKey[];
  const names = Object.fromEntries(
    keys.map((key) => [key, `${prefix}-${TABLE_SPECS[key].logicalName}`]),
  ) as TableNames;
  await Promise.all(
    keys.map(async (key) => {
      await dynamo.send(new CreateTableCommand(createTableInput(TABLE_SPECS[key], names[key])));
      await waitUntilTableExists({ client: dynamo, maxWaitTime: 60 }, { TableName: names[key] });
    }),
  );
  return names;
}
