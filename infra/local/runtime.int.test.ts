import { DescribeTableCommand, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ListEventBusesCommand, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetBucketVersioningCommand, ListBucketsCommand } from '@aws-sdk/client-s3';
import {
  GetQueueAttributesCommand,
  ListQueuesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
} from '@aws-sdk/client-sqs';
import { PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAwsClients } from '../../shared/aws/index.js';
import { eventually, uniquePrefix } from '../../test/support/index.js';
import type { LogEntry } from './log.js';
import { type LocalRuntime, startLocalRuntime } from './runtime.js';
import {
  API_STAGE,
  SAMPLE_DETAIL_TYPE,
  SAMPLE_SOURCE,
  synthesizeFixtureStack,
} from './test-fixtures/stack.js';
import { describeWiring } from './wiring.js';

/** rate(1 minute) fires every 3 s. */
const SCHEDULE_SCALE = 0.05;
const SCALED_PERIOD_MS = 60_000 * SCHEDULE_SCALE;

const clients = createAwsClients();

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set; the integration global setup exports it`);
  return value;
}

function randomId(label: string): string {
  return uniquePrefix(label);
}

interface Observation {
  source: string;
  key: string;
  role: string;
  observedAt: number;
  [field: string]: unknown;
}

describe('the embedded runtime on the fixture stack', () => {
  const logs: LogEntry[] = [];
  let template: Record<string, unknown>;
  let runtime: LocalRuntime;

  /** The one resource whose logical id starts with `readable` (CDK appends a hash). */
  function resource(readable: string) {
    const matches = Object.entries(runtime.resources).filter(([logicalId]) => logicalId.startsWith(readable));
    if (matches.length !== 1)
      throw new Error(`expected one resource named ${readable}*, found ${matches.length}`);
    return matches[0]?.[1] as (typeof runtime.resources)[string];
  }

  /** What the fixture handlers observed from `source`, optionally only for ids starting with `idPrefix`. */
  async function observations(source: string, idPrefix?: string): Promise<Observation[]> {
    const result = await clients.doc.send(
      new QueryCommand({
        TableName: resource('Observations').physicalName,
        KeyConditionExpression:
          idPrefix === undefined ? '#source = :source' : '#source = :source AND begins_with(#key, :prefix)',
        ExpressionAttributeNames: { '#source': 'source', ...(idPrefix !== undefined && { '#key': 'key' }) },
        ExpressionAttributeValues: {
          ':source': source,
          ...(idPrefix !== undefined && { ':prefix': idPrefix }),
        },
      }),
    );
    return (result.Items ?? []) as Observation[];
  }

  async function sendSamples(
    queue: string,
    samples: Array<{ id: string; behaviour?: string }>,
  ): Promise<void> {
    await clients.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: resource(queue).url,
        Entries: samples.map((sample, index) => ({ Id: String(index), MessageBody: JSON.stringify(sample) })),
      }),
    );
  }

  /** Drains the DLQ into `seen` and returns the sample ids found so far. */
  async function deadLettered(queue: string, seen: Map<string, Message>): Promise<Set<string>> {
    const response = await clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: resource(queue).url,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        VisibilityTimeout: 60,
      }),
    );
    for (const message of response.Messages ?? []) {
      const sample = JSON.parse(message.Body ?? '{}') as { id?: string };
      if (sample.id) seen.set(sample.id, message);
    }
    return new Set(seen.keys());
  }

  async function queueDepth(queue: string): Promise<number> {
    const attributes = await clients.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: resource(queue).url,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return (
      Number(attributes.Attributes?.ApproximateNumberOfMessages) +
      Number(attributes.Attributes?.ApproximateNumberOfMessagesNotVisible)
    );
  }

  async function signedFetch(
    url: string,
    options: { method: string; body?: string; secretAccessKey?: string; signingDate?: Date },
  ): Promise<Response> {
    const target = new URL(url);
    const signer = new SignatureV4({
      credentials: {
        accessKeyId: requiredEnv('AWS_ACCESS_KEY_ID'),
        secretAccessKey: options.secretAccessKey ?? requiredEnv('AWS_SECRET_ACCESS_KEY'),
      },
      region: runtime.region,
      service: 'execute-api',
      sha256: Hash.bind(null, 'sha256'),
    });
    const signed = await signer.sign(
      new HttpRequest({
        method: options.method,
        protocol: target.protocol,
        hostname: target.hostname,
        port: Number(target.port),
        path: target.pathname,
        query: Object.fromEntries(target.searchParams),
        headers: { host: target.host, 'content-type': 'application/json' },
        body: options.body,
      }),
      { signingDate: options.signingDate ?? new Date() },
    );
    return fetch(url, { method: options.method, headers: signed.headers, body: options.body });
  }

  beforeAll(async () => {
    template = synthesizeFixtureStack();
    runtime = await startLocalRuntime({
      template,
      endpoint: requiredEnv('AWS_ENDPOINT_URL'),
      prefix: uniquePrefix('rt'),
      scheduleScale: SCHEDULE_SCALE,
      log: (entry) => logs.push(entry),
    });
    // A cold start takes longer than the 3 s visibility timeout leaves after the batching
    // window; warm the consumer so the batches under test finish well within it. (The warm-up
    // message itself may be delivered twice on a loaded machine: that is the cold start; it must
    // be gone from the queue before the tests start, or its second delivery joins their batches.)
    const warmUp = randomId('warm-up');
    await sendSamples('WorkQueue', [{ id: warmUp }]);
    await eventually(
      async () => {
        expect((await observations('sqs', warmUp)).length).toBeGreaterThan(0);
        expect(await queueDepth('WorkQueue')).toBe(0);
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
  });

  afterAll(async () => {
    await runtime?.stop();
  });

  it('creates exactly the template resources, with their settings, under its prefix', async () => {
    // Act
    const queues = await clients.sqs.send(new ListQueuesCommand({ QueueNamePrefix: `${runtime.prefix}-` }));
    const tables = await clients.dynamo.send(new ListTablesCommand({}));
    const buckets = await clients.s3.send(new ListBucketsCommand({}));
    const buses = await clients.eventBridge.send(
      new ListEventBusesCommand({ NamePrefix: `${runtime.prefix}-` }),
    );
    const records = await clients.dynamo.send(
      new DescribeTableCommand({ TableName: resource('Records').physicalName }),
    );
    const work = await clients.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: resource('WorkQueue').url, AttributeNames: ['All'] }),
    );
    const versioning = await clients.s3.send(
      new GetBucketVersioningCommand({ Bucket: resource('Data').physicalName }),
    );

    // Assess
    const namesOf = (type: string) =>
      Object.values(runtime.resources)
        .filter((local) => local.type === type)
        .map((local) => local.physicalName)
        .sort();
    const mine = (name: string | undefined) => name?.startsWith(`${runtime.prefix}-`) ?? false;
    expect((queues.QueueUrls ?? []).map((url) => url.split('/').at(-1)).sort()).toEqual(
      namesOf('AWS::SQS::Queue'),
    );
    expect((tables.TableNames ?? []).filter(mine).sort()).toEqual(namesOf('AWS::DynamoDB::Table'));
    expect(
      (buckets.Buckets ?? [])
        .map((bucket) => bucket.Name)
        .filter(mine)
        .sort(),
    ).toEqual(namesOf('AWS::S3::Bucket'));
    expect((buses.EventBuses ?? []).map((bus) => bus.Name).sort()).toEqual(namesOf('AWS::Events::EventBus'));
    expect(records.Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    expect(records.Table?.StreamSpecification).toEqual({
      StreamEnabled: true,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    });
    expect(records.Table?.GlobalSecondaryIndexes?.map((index) => [index.IndexName, index.KeySchema])).toEqual(
      [['byKind', [{ AttributeName: 'kind', KeyType: 'HASH' }]]],
    );
    expect(JSON.parse(work.Attributes?.RedrivePolicy ?? '{}')).toEqual({
      deadLetterTargetArn: resource('WorkDlq').arn,
      maxReceiveCount: 2,
    });
    expect(work.Attributes?.VisibilityTimeout).toBe('3');
    expect(versioning.Status).toBe('Enabled');
  });

  it('runs exactly the wiring of the template, read back from pollers, schedules, routes and the emulator rules', async () => {
    // Act
    const live = await runtime.wiring();

    // Assess
    expect(live).toEqual(describeWiring(template));
  });

  it('deletes the neighbours of a reported failure at once and redrives the failed record to the DLQ', async () => {
    // Prepare
    const run = randomId('partial');
    const samples = [{ id: `${run}-a` }, { id: `${run}-b`, behaviour: 'fail' }, { id: `${run}-c` }];
    const deadLetters = new Map<string, Message>();

    // Act
    await sendSamples('WorkQueue', samples);

    // Assess
    await eventually(async () => expect(await deadLettered('WorkDlq', deadLetters)).toContain(`${run}-b`), {
      timeoutMs: 20_000,
      intervalMs: 500,
    });
    const seen = await observations('sqs', run);
    const deliveries = (id: string) =>
      seen
        .filter((item) => item.sampleId === id)
        .map((item) => item.receiveCount)
        .sort();
    expect(deliveries(`${run}-a`)).toEqual([1]);
    expect(deliveries(`${run}-c`)).toEqual([1]);
    expect(deliveries(`${run}-b`)).toEqual([1, 2]);
    expect(seen.filter((item) => item.receiveCount === 1).map((item) => item.batchSize)).toEqual([3, 3, 3]);
    expect(
      seen.every(
        (item) => item.eventSourceARN === resource('WorkQueue').arn && item.role === 'queue-consumer',
      ),
    ).toBe(true);
    expect(deadLetters.has(`${run}-a`) || deadLetters.has(`${run}-c`)).toBe(false);
    expect(await queueDepth('WorkQueue')).toBe(0);
  });

  it('fails the whole batch when the handler throws: nothing is deleted and every record is redriven', async () => {
    // Prepare
    const run = randomId('throw');
    const deadLetters = new Map<string, Message>();

    // Act
    await sendSamples('WorkQueue', [{ id: `${run}-a` }, { id: `${run}-b`, behaviour: 'throw' }]);

    // Assess
    await eventually(
      async () =>
        expect(
          [...(await deadLettered('WorkDlq', deadLetters))].filter((id) => id.startsWith(run)).sort(),
        ).toEqual([`${run}-a`, `${run}-b`]),
      { timeoutMs: 20_000, intervalMs: 500 },
    );
    const seen = await observations('sqs', run);
    expect(
      seen
        .filter((item) => item.sampleId === `${run}-a`)
        .map((item) => item.receiveCount)
        .sort(),
    ).toEqual([1, 2]);
    expect(logs.some((entry) => entry.message === 'SQS batch failed: function error')).toBe(true);
  });

  it('routes an event put on the bus through the rule to its queue and the function', async () => {
    // Prepare
    const run = randomId('bus');
    const busName = resource('Bus').physicalName;

    // Act
    const put = await clients.eventBridge.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: busName,
            Source: SAMPLE_SOURCE,
            DetailType: 'sample.ignored',
            Detail: JSON.stringify({ id: `${run}-ignored` }),
          },
          {
            EventBusName: busName,
            Source: SAMPLE_SOURCE,
            DetailType: SAMPLE_DETAIL_TYPE,
            Detail: JSON.stringify({ id: `${run}-routed` }),
          },
        ],
      }),
    );

    // Assess
    expect(put.FailedEntryCount).toBe(0);
    const [delivered] = await eventually(async () => {
      const seen = await observations('sqs', `${run}-routed`);
      expect(seen).toHaveLength(1);
      return seen;
    });
    expect(delivered?.eventSourceARN).toBe(resource('EventsQueue').arn);
    expect(await observations('sqs', `${run}-ignored`)).toEqual([]);
  });

  it('delivers the stream records the filter passes, retries a failing one, then skips it to the on-failure queue', async () => {
    // Prepare
    const run = randomId('stream');
    const table = resource('Records').physicalName;
    const put = (pk: string, kind: string, behaviour = 'ok') =>
      clients.doc.send(new PutCommand({ TableName: table, Item: { pk, kind, behaviour } }));

    // Act
    await put(`${run}-kept`, 'keep-a');
    await put(`${run}-dropped`, 'drop');
    await clients.doc.send(
      new UpdateCommand({
        TableName: table,
        Key: { pk: `${run}-kept` },
        UpdateExpression: 'SET kind = :kind',
        ExpressionAttributeValues: { ':kind': 'keep-b' },
      }),
    );
    await put(`${run}-failing`, 'keep-c', 'fail');

    // Assess
    const failure = await eventually(
      async () => {
        const response = await clients.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: resource('StreamFailures').url,
            WaitTimeSeconds: 1,
            VisibilityTimeout: 60,
          }),
        );
        const [message] = response.Messages ?? [];
        expect(message).toBeDefined();
        return JSON.parse(message?.Body ?? '{}') as {
          requestContext: { condition: string };
          DDBStreamBatchInfo: Record<string, unknown>;
        };
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    const seen = await observations('stream', run);
    const byItem = (suffix: string) => seen.filter((item) => item.itemId === `${run}-${suffix}`);
    expect(byItem('kept').map((item) => [item.eventName, item.kind])).toEqual([['INSERT', 'keep-a']]);
    expect(byItem('dropped')).toEqual([]);
    expect(byItem('failing')).toHaveLength(2);
    expect(failure.requestContext.condition).toBe('RetryAttemptsExhausted');
    expect(failure.DDBStreamBatchInfo).toMatchObject({
      batchSize: 1,
      startSequenceNumber: byItem('failing')[0]?.sequenceNumber,
      streamArn: resource('Records').streamArn,
    });
  });

  it('fires the schedule at the scaled rate with Scheduled Events naming the rule', async () => {
    // Act
    const ticks = await eventually(
      async () => {
        const seen = await observations('schedule');
        expect(seen.length).toBeGreaterThanOrEqual(4);
        return seen.sort((a, b) => a.observedAt - b.observedAt);
      },
      { timeoutMs: 20_000, intervalMs: 500 },
    );

    // Assess: the first tick waited for the cold start, so periods are measured from the second on.
    const warm = ticks.slice(1);
    const gaps = warm.slice(1).map((tick, index) => tick.observedAt - (warm[index]?.observedAt ?? 0));
    for (const gap of gaps) {
      expect(gap).toBeGreaterThan(SCALED_PERIOD_MS * 0.7);
      expect(gap).toBeLessThan(SCALED_PERIOD_MS * 1.5);
    }
    expect(ticks[0]).toMatchObject({
      detailType: 'Scheduled Event',
      eventSource: 'aws.events',
      resources: [resource('EveryMinute').arn],
    });
  });

  it('refuses unsigned, badly signed and expired requests and unknown routes with API Gateway 403s', async () => {
    // Prepare
    const url = `${runtime.api?.url}items/i-1`;

    // Act
    const unsigned = await fetch(url);
    const badlySigned = await signedFetch(url, { method: 'GET', secretAccessKey: 'not-the-secret' });
    const expired = await signedFetch(url, {
      method: 'GET',
      signingDate: new Date(Date.now() - 20 * 60_000),
    });
    const unknownRoute = await signedFetch(`${runtime.api?.url}pilots`, { method: 'GET' });
    const wrongMethod = await signedFetch(url, { method: 'DELETE' });
    const tooLarge = await fetch(`${runtime.api?.url}items`, {
      method: 'POST',
      body: 'x'.repeat(10 * 1024 * 1024 + 1),
    });

    // Assess
    expect([
      unsigned.status,
      badlySigned.status,
      expired.status,
      unknownRoute.status,
      wrongMethod.status,
    ]).toEqual([403, 403, 403, 403, 403]);
    expect(tooLarge.status).toBe(413);
    expect(await unsigned.json()).toEqual({ message: 'Missing Authentication Token' });
    expect(await badlySigned.json()).toEqual({
      message: expect.stringMatching(/^The request signature we calculated does not match/),
    });
    expect(badlySigned.headers.get('x-amzn-errortype')).toBe('InvalidSignatureException');
    expect(await expired.json()).toEqual({ message: expect.stringMatching(/^Signature expired/) });
    expect(await unknownRoute.json()).toEqual({ message: 'Missing Authentication Token' });
    expect(await wrongMethod.json()).toEqual({ message: 'Missing Authentication Token' });
  });

  it('serves signed requests through the function with path parameters, identity and its own environment', async () => {
    // Act
    const read = await signedFetch(`${runtime.api?.url}items/i-42?view=full`, { method: 'GET' });
    const created = await signedFetch(`${runtime.api?.url}items`, {
      method: 'POST',
      body: '{"name":"sample"}',
    });
    const malformed = await signedFetch(`${runtime.api?.url}items/malformed`, { method: 'GET' });

    // Assess
    expect(read.status).toBe(200);
    expect(read.headers.get('x-fixture-role')).toBe('api');
    expect(await read.json()).toEqual({
      resource: '/items/{itemId}',
      path: '/items/i-42',
      httpMethod: 'GET',
      pathParameters: { itemId: 'i-42' },
      queryStringParameters: { view: 'full' },
      body: null,
      accessKey: requiredEnv('AWS_ACCESS_KEY_ID'),
      userArn: `arn:aws:iam::${runtime.accountId}:user/${requiredEnv('AWS_ACCESS_KEY_ID')}`,
      stage: API_STAGE,
      functionName: runtime.functions.api?.physicalName,
      environment: {
        OBSERVATIONS_TABLE: resource('Observations').physicalName,
        WORK_QUEUE_URL: resource('WorkQueue').url,
        BUS_ARN: resource('Bus').arn,
        RECORDS_INDEX_ARN: `${resource('Records').arn}/index/byKind`,
        AWS_LAMBDA_FUNCTION_NAME: runtime.functions.api?.physicalName,
      },
    });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({
      resource: '/items',
      pathParameters: null,
      body: '{"name":"sample"}',
    });
    expect(malformed.status).toBe(502);
    expect(await malformed.json()).toEqual({ message: 'Internal server error' });
  });

  it('answers ten API requests at once, as Lambda scales a function without reserved concurrency', async () => {
    // Prepare: the function's worker is started, so no cold start counts in the time.
    const handlerMs = 500;
    expect((await signedFetch(`${runtime.api?.url}items/slow?ms=0`, { method: 'GET' })).status).toBe(200);

    // Act: ten requests whose handler takes half a second each.
    const started = performance.now();
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        signedFetch(`${runtime.api?.url}items/slow?ms=${handlerMs}`, { method: 'GET' }),
      ),
    );
    const elapsedMs = performance.now() - started;

    // Assess: all answered within about one handler's time (two at a time would take five).
    expect(answers.map((answer) => answer.status)).toEqual(Array(10).fill(200));
    expect(elapsedMs).toBeLessThan(2 * handlerMs);
    expect(runtime.functions.api?.concurrency).toBe(10);
    expect(runtime.functions['queue-consumer']?.concurrency).toBe(2);
  });

  it('reads a busy stream four times a second, like Lambda, once it has caught up', async () => {
    // Prepare: records the mapping's filter drops, so no delivery slows the reads down.
    const table = resource('Records').physicalName;
    const reads = () =>
      runtime
        .stats()
        .awsCalls.filter((entry) => entry.operation === 'GetRecords')
        .reduce((sum, entry) => sum + entry.calls, 0);
    const readsBefore = reads();
    const started = Date.now();

    // Act: a write every 50 ms for 4 s.
    for (let index = 0; Date.now() - started < 4_000; index += 1) {
      await clients.doc.send(
        new PutCommand({ TableName: table, Item: { pk: `${randomId('busy')}-${index}`, kind: 'drop' } }),
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    // Assess
    // Four a second, and a little more when a late read finds a full batch and reads on at once
    // (a loaded machine); reading again after every non-empty read made it 8 here.
    const perSecond = (reads() - readsBefore) / ((Date.now() - started) / 1000);
    expect(perSecond).toBeGreaterThan(1);
    expect(perSecond).toBeLessThanOrEqual(5.5);
  });

  it('costs the shared emulator about one call per second while idle', async () => {
    // Prepare: let the work of earlier tests settle.
    await eventually(
      () => {
        const functions = Object.values(runtime.stats().functions);
        expect(functions.every((fn) => fn.running === 0 && fn.queued === 0)).toBe(true);
      },
      { timeoutMs: 10_000 },
    );
    const callsBefore = runtime.stats().awsCalls.reduce((sum, entry) => sum + entry.calls, 0);

    // Act
    await new Promise((resolve) => setTimeout(resolve, 6_000));

    // Assess
    const callsAfter = runtime.stats().awsCalls.reduce((sum, entry) => sum + entry.calls, 0);
    expect((callsAfter - callsBefore) / 6).toBeLessThan(2);
  });
});

describe('stopping the embedded runtime', () => {
  it('ends pollers, schedules, workers and the API at once, and leaves the emulator and its resources', async () => {
    // Prepare
    const runtime = await startLocalRuntime({
      template: synthesizeFixtureStack(),
      endpoint: requiredEnv('AWS_ENDPOINT_URL'),
      prefix: uniquePrefix('stop'),
      log: () => undefined,
    });
    const apiUrl = `${runtime.api?.url}items/i-1`;
    expect((await fetch(apiUrl)).status).toBe(403);
    const total = () => runtime.stats().awsCalls.reduce((sum, entry) => sum + entry.calls, 0);

    // Act
    const startedStopping = Date.now();
    await runtime.stop();
    const stopMs = Date.now() - startedStopping;
    const callsAtStop = total();
    await new Promise((resolve) => setTimeout(resolve, 1_500));

    // Assess
    expect(stopMs).toBeLessThan(3_000);
    expect(total()).toBe(callsAtStop);
    await expect(fetch(apiUrl)).rejects.toThrow();
    const queues = await clients.sqs.send(new ListQueuesCommand({ QueueNamePrefix: `${runtime.prefix}-` }));
    expect(queues.QueueUrls?.length).toBe(
      Object.values(runtime.resources).filter((local) => local.type === 'AWS::SQS::Queue').length,
    );
  });
});
