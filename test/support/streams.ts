import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import { unmarshall } from '@aws-sdk/util-dynamodb';

/** A stream record with its images as plain objects. */
export interface TableChange {
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  keys: Record<string, unknown>;
  oldImage?: Record<string, unknown>;
  newImage?: Record<string, unknown>;
}

type Image = Parameters<typeof unmarshall>[0];

/**
 * Every record of a table's stream so far, oldest first: DescribeTable for the stream ARN,
 * then each shard read from TRIM_HORIZON until it has nothing more.
 */
export async function readTableStream(
  clients: { dynamo: DynamoDBClient; streams: DynamoDBStreamsClient },
  tableName: string,
): Promise<TableChange[]> {
  const table = await clients.dynamo.send(new DescribeTableCommand({ TableName: tableName }));
  const streamArn = table.Table?.LatestStreamArn;
  if (!streamArn) throw new Error(`table ${tableName} has no stream`);
  const stream = await clients.streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
  const changes: TableChange[] = [];
  for (const shard of stream.StreamDescription?.Shards ?? []) {
    const start = await clients.streams.send(
      new GetShardIteratorCommand({
        StreamArn: streamArn,
        ShardId: shard.ShardId,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    let iterator = start.ShardIterator;
    while (iterator) {
      const page = await clients.streams.send(new GetRecordsCommand({ ShardIterator: iterator }));
      const records = page.Records ?? [];
      for (const record of records) {
        const data = record.dynamodb;
        changes.push({
          eventName: record.eventName as TableChange['eventName'],
          keys: unmarshall((data?.Keys ?? {}) as Image),
          ...(data?.OldImage ? { oldImage: unmarshall(data.OldImage as Image) } : {}),
          ...(data?.NewImage ? { newImage: unmarshall(data.NewImage as Image) } : {}),
        });
      }
      iterator = records.length > 0 ? page.NextShardIterator : undefined;
    }
  }
  return changes;
}
