import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import { CreateBucketCommand, HeadBucketCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
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
      await expect(s3.send(new HeadBucketCommand({ Bucket: 'emulator-missing' }))).rejects.toThrow();

      // Assess
      expect(emulator.endpoint).toBe(`http://127.0.0.1:${emulator.port}`);
      expect(emulator.endpoint).not.toBe(process.env.AWS_ENDPOINT_URL);
      expect(before.Buckets?.map((bucket) => bucket.Name)).toEqual(['emulator-probe']);
      expect(after.Buckets ?? []).toEqual([]);
      // Failed requests are logged, successful ones are not: the one output line per request
      // cost moto's CPU and this process's reads. Lines arrive in order, so once the failure's
      // line is in, the earlier requests' lines would be too.
      await eventually(() => expect(emulator.output()).toContain('/emulator-missing'));
      expect(emulator.output()).toMatch(/HEAD \/emulator-missing\/ HTTP\/1\.1.* 404/);
      expect(emulator.output()).not.toContain('ListBuckets');
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

  async function streamRecords(tableName: string) {
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
    return (
      (await streams.send(new GetRecordsCommand({ ShardIterator: iterator.ShardIterator }))).Records ?? []
    );
  }

  /** 'ok', or the name of the error the write failed with. */
  async function outcome(write: Promise<unknown>): Promise<string> {
    try {
      await write;
      return 'ok';
    } catch (error) {
      return (error as Error).name;
    }
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

  it('refuses an item over the size limit, whether written whole or in one update', async () => {
    // Prepare
    const tableName = await streamTable();
    const text = (length: number) => ({ S: 'x'.repeat(length) });

    // Act
    const near = await outcome(
      dynamo.send(
        new PutItemCommand({ TableName: tableName, Item: { id: { S: 'near' }, a: text(300_000) } }),
      ),
    );
    const over = await outcome(
      dynamo.send(
        new PutItemCommand({
          TableName: tableName,
          Item: { id: { S: 'over' }, a: text(300_000), b: text(200_000) },
        }),
      ),
    );
    const grown = await outcome(
      dynamo.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: { id: { S: 'near' } },
          UpdateExpression: 'SET b = :b',
          ExpressionAttributeValues: { ':b': text(200_000) },
        }),
      ),
    );

    // Assess
    expect([near, over, grown]).toEqual(['ok', 'ValidationException', 'ValidationException']);
    const stored = await dynamo.send(
      new GetItemCommand({ TableName: tableName, Key: { id: { S: 'over' } } }),
    );
    expect(stored.Item).toBeUndefined();
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
    const records = await streamRecords(tableName);
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

  it("evaluates a repeated condition and update expression with each request's own values", async () => {
    // Prepare: the emulator parses an expression string once and reuses the result.
    const tableName = await streamTable();
    await dynamo.send(
      new PutItemCommand({
        TableName: tableName,
        Item: { id: { S: 'task' }, ready: { N: '3' }, done: { N: '0' } },
      }),
    );
    const expressions = {
      UpdateExpression: 'SET #ready = #ready - :one, #done = #done + :one',
      ConditionExpression: '#ready = :expected',
      ExpressionAttributeNames: { '#ready': 'ready', '#done': 'done' },
    };
    const values = (expected: string) => ({ ':one': { N: '1' }, ':expected': { N: expected } });
    const update = (expected: string) => () =>
      dynamo.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: { id: { S: 'task' } },
          ...expressions,
          ExpressionAttributeValues: values(expected),
        }),
      );
    const transaction = (expected: string) => () =>
      dynamo.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            {
              Update: {
                TableName: tableName,
                Key: { id: { S: 'task' } },
                ...expressions,
                ExpressionAttributeValues: values(expected),
              },
            },
          ],
        }),
      );

    // Act
    const outcomes = [];
    for (const write of [
      update('3'),
      update('3'),
      update('2'),
      transaction('2'),
      transaction('1'),
      update('5'),
    ]) {
      outcomes.push(await outcome(write()));
    }

    // Assess
    expect(outcomes).toEqual([
      'ok',
      'ConditionalCheckFailedException',
      'ok',
      'TransactionCanceledException',
      'ok',
      'ConditionalCheckFailedException',
    ]);
    const item = await dynamo.send(
      new GetItemCommand({ TableName: tableName, Key: { id: { S: 'task' } }, ConsistentRead: true }),
    );
    expect(item.Item).toEqual({ id: { S: 'task' }, ready: { N: '0' }, done: { N: '3' } });
  });

  it("validates a repeated update expression against each request's own attribute names", async () => {
    // Prepare: one update expression whose two paths overlap only under some names.
    const tableName = await streamTable();
    const update = (names: Record<string, string>) =>
      new UpdateItemCommand({
        TableName: tableName,
        Key: { id: { S: 'item' } },
        UpdateExpression: 'SET #first = :value, #second = :value',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: { ':value': { S: 'set' } },
      });

    // Act
    const outcomes = [];
    for (const names of [
      { '#first': 'a', '#second': 'b' },
      { '#first': 'a', '#second': 'a' },
      { '#first': 'c', '#second': 'd' },
      { '#first': 'a', '#second': 'a' },
    ]) {
      outcomes.push(await outcome(dynamo.send(update(names))));
    }

    // Assess
    expect(outcomes).toEqual(['ok', 'ValidationException', 'ok', 'ValidationException']);
    const item = await dynamo.send(
      new GetItemCommand({ TableName: tableName, Key: { id: { S: 'item' } }, ConsistentRead: true }),
    );
    expect(item.Item).toEqual({
      id: { S: 'item' },
      a: { S: 'set' },
      b: { S: 'set' },
      c: { S: 'set' },
      d: { S: 'set' },
    });
  });

  it('returns every attribute type as written, in items, query results and stream records', async () => {
    // Prepare: the emulator serializes attribute values directly rather than through moto's walk.
    const tableName = await streamTable();
    const bytes = (text: string) => new TextEncoder().encode(text);
    const item = {
      id: { S: 'typed' },
      text: { S: 'héllo "quoted" \\ ✓' },
      empty: { S: '' },
      number: { N: '-1.50' },
      binary: { B: bytes('binary') },
      strings: { SS: ['a', 'b'] },
      numbers: { NS: ['1', '2.5'] },
      binaries: { BS: [bytes('x'), bytes('y')] },
      nothing: { NULL: true },
      yes: { BOOL: true },
      no: { BOOL: false },
      list: {
        L: [{ S: 'x' }, { N: '2' }, { B: bytes('z') }, { L: [] }, { M: {} }, { NULL: true }, { SS: ['q'] }],
      },
      map: {
        M: {
          counts: { M: { READY: { N: '5' }, DONE: { N: '0' } } },
          nested: { L: [{ M: { deep: { BOOL: false } } }] },
          binaries: { BS: [bytes('w')] },
        },
      },
    };

    // Act
    await dynamo.send(new PutItemCommand({ TableName: tableName, Item: item }));
    const read = await dynamo.send(
      new GetItemCommand({ TableName: tableName, Key: { id: { S: 'typed' } }, ConsistentRead: true }),
    );
    const queried = await dynamo.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'id = :id',
        ExpressionAttributeValues: { ':id': { S: 'typed' } },
      }),
    );
    const records = await streamRecords(tableName);

    // Assess
    expect(read.Item).toEqual(item);
    expect(queried.Items).toEqual([item]);
    expect(records.map((record) => record.dynamodb?.NewImage)).toEqual([item]);
  });
});
