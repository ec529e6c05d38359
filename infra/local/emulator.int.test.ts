import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  PutItemCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import { CreateBucketCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { eventually, uniquePrefix } from '../../test/support/index.js';
import { resetEmulator, startEmulator } from './emulator.js';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the global setup', () => {
  it('hands the emulator to test workers through the standard AWS variables', async () => {
    expect(process.env.AWS_REGION).toBe('us-east-1');
    expect(process.env.AWS_S3_FORCE_PATH_STYLE).toBe('true');
    const endpoint = process.env.AWS_ENDPOINT_URL;
    expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const response = await fetch(`${endpoint}/moto-api/`);
    expect(response.status).toBe(200);
  });
});

describe('startEmulator', () => {
  it('serves AWS APIs on a free loopback port, resets them, and stops its process', async () => {
    // Prepare
    const emulator = await startEmulator();
    try {
      const s3 = new S3Client({
        endpoint: emulator.endpoint,
        region: 'us-east-1',
        credentials,
        forcePathStyle: true,
      });

      // Act
      await s3.send(new CreateBucketCommand({ Bucket: 'emulator-probe' }));
      const before = await s3.send(new ListBucketsCommand({}));
      await resetEmulator(emulator.endpoint);
      const after = await s3.send(new ListBucketsCommand({}));

      // Assess
      expect(emulator.endpoint).toBe(`http://127.0.0.1:${emulator.port}`);
      expect(emulator.endpoint).not.toBe(process.env.AWS_ENDPOINT_URL);
      expect(before.Buckets?.map((bucket) => bucket.Name)).toEqual(['emulator-probe']);
      expect(after.Buckets ?? []).toEqual([]);
      expect(emulator.output()).toContain('ListBuckets');
    } finally {
      await emulator.stop();
    }
    expect(isAlive(emulator.pid)).toBe(false);
    await expect(fetch(`${emulator.endpoint}/moto-api/`)).rejects.toThrow();
  });

  it('reports a server that cannot start, with its output', async () => {
    const start = startEmulator({
      env: { MOTO_SERVER_BIN: '/nonexistent/moto_server' },
      startTimeoutMs: 5_000,
    });
    await expect(start).rejects.toThrow(/exited before it was healthy[\s\S]*nonexistent/);
  });

  it('does not mistake another server on its port for its own', async () => {
    const takenPort = Number(new URL(process.env.AWS_ENDPOINT_URL ?? '').port);

    const start = startEmulator({ port: takenPort, startTimeoutMs: 10_000 });

    await expect(start).rejects.toThrow(/exited before it was healthy/);
  });

  it('stops the server when the process that started it dies', async () => {
    // Prepare: a separate Node process starts an emulator and reports its PID.
    const emulatorModule = fileURLToPath(new URL('./emulator.ts', import.meta.url));
    const script = [
      `const { startEmulator } = await import(${JSON.stringify(emulatorModule)});`,
      'const emulator = await startEmulator();',
      "process.stdout.write('pid=' + emulator.pid + '\\n');",
      'setInterval(() => {}, 60_000);',
    ].join('\n');
    const owner = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const motoPid = await new Promise<number>((resolve, reject) => {
      let output = '';
      owner.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString('utf8');
        const line = output.split('\n').find((candidate) => candidate.startsWith('pid='));
        if (line) resolve(Number(line.slice('pid='.length)));
      });
      owner.once('exit', (code) => reject(new Error(`owner exited early with ${code}`)));
    });
    expect(isAlive(motoPid)).toBe(true);

    // Act: the owner dies without any chance to clean up.
    owner.kill('SIGKILL');

    // Assess
    await eventually(() => expect(isAlive(motoPid)).toBe(false), { timeoutMs: 10_000, intervalMs: 100 });
  });
});

describe('the emulated DynamoDB', () => {
  const dynamo = new DynamoDBClient({});

  async function streamTable(): Promise<string> {
    const tableName = uniquePrefix('fidelity');
    await dynamo.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
      }),
    );
    return tableName;
  }

  it('lets exactly one of many concurrent conditional creates of one item succeed', async () => {
    const tableName = await streamTable();

    const outcomes = await Promise.allSettled(
      Array.from({ length: 30 }, (_, index) =>
        dynamo.send(
          new PutItemCommand({
            TableName: tableName,
            Item: { id: { S: 'contended' }, writer: { N: String(index) } },
            ConditionExpression: 'attribute_not_exists(id)',
          }),
        ),
      ),
    );

    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
    for (const outcome of outcomes.filter((candidate) => candidate.status === 'rejected')) {
      expect(outcome.reason).toBeInstanceOf(ConditionalCheckFailedException);
    }
  });

  it('undoes every write of a cancelled transaction, stream records included', async () => {
    // Prepare
    const tableName = await streamTable();
    await dynamo.send(new PutItemCommand({ TableName: tableName, Item: { id: { S: 'a' }, n: { N: '1' } } }));

    // Act: the first two writes apply, the third's condition fails.
    const cancelled = dynamo.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          {
            Update: {
              TableName: tableName,
              Key: { id: { S: 'a' } },
              UpdateExpression: 'SET n = :two',
              ExpressionAttributeValues: { ':two': { N: '2' } },
            },
          },
          { Put: { TableName: tableName, Item: { id: { S: 'b' } } } },
          {
            Put: {
              TableName: tableName,
              Item: { id: { S: 'c' } },
              ConditionExpression: 'attribute_exists(id)',
            },
          },
        ],
      }),
    );

    // Assess
    await expect(cancelled).rejects.toBeInstanceOf(TransactionCanceledException);
    const streamArn = (await dynamo.send(new DescribeTableCommand({ TableName: tableName }))).Table
      ?.LatestStreamArn;
    const streams = new DynamoDBStreamsClient({});
    const shards = (await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }))).StreamDescription
      ?.Shards;
    const iterator = await streams.send(
      new GetShardIteratorCommand({
        StreamArn: streamArn,
        ShardId: shards?.[0]?.ShardId,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    const records =
      (await streams.send(new GetRecordsCommand({ ShardIterator: iterator.ShardIterator }))).Records ?? [];
    expect(records.map((record) => [record.eventName, record.dynamodb?.NewImage])).toEqual([
      ['INSERT', { id: { S: 'a' }, n: { N: '1' } }],
    ]);
    const items = await dynamo.send(
      new BatchGetItemCommand({
        RequestItems: { [tableName]: { Keys: [{ id: { S: 'a' } }, { id: { S: 'b' } }] } },
      }),
    );
    expect(items.Responses?.[tableName]).toEqual([{ id: { S: 'a' }, n: { N: '1' } }]);
  });
});
