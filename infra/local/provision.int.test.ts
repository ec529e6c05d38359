import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  PutItemCommand,
  paginateListTables,
} from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import {
  DescribeEventBusCommand,
  ListEventBusesCommand,
  ListRulesCommand,
  ListTargetsByRuleCommand,
} from '@aws-sdk/client-eventbridge';
import { GetBucketVersioningCommand, ListBucketsCommand } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, ListQueuesCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsClients, createAwsClients } from '../../shared/aws/index.js';
import { type FaultProxy, startFaultProxy } from '../../test/support/fault-proxy.js';
import { uniquePrefix } from '../../test/support/index.js';
import { ProvisioningMismatchError } from './errors.js';
import { type Provisioned, provisionResources } from './provision.js';
import { parseTemplate } from './template.js';
import { synthesizeFixtureStack } from './test-fixtures/stack.js';
import { describeWiring } from './wiring.js';

const template = parseTemplate(synthesizeFixtureStack());
const wiring = describeWiring(template);

/** Tables of prefixes in this set report CREATING, and their streams ENABLING, this many times first. */
const NOT_YET_ACTIVE_DESCRIBES = 3;

describe('provisioning the template on an endpoint', () => {
  let proxy: FaultProxy;
  let clients: AwsClients;
  let previousEndpoint: string | undefined;
  const slowPrefixes = new Set<string>();
  /** Describes answered with a status that is not yet usable, by table name and by stream ARN. */
  const notYetActive = new Map<string, number>();

  const isSlow = (name: string) => [...slowPrefixes].some((prefix) => name.startsWith(`${prefix}-`));
  /** Counts one more describe of `key`; true while it still has to look not yet active. */
  const stillCreating = (key: string) => {
    const count = (notYetActive.get(key) ?? 0) + 1;
    notYetActive.set(key, count);
    return count <= NOT_YET_ACTIVE_DESCRIBES;
  };

  beforeAll(async () => {
    const endpoint = process.env.AWS_ENDPOINT_URL!;
    // As LocalStack does: a new table is CREATING, and its stream ENABLING, for a while.
    proxy = await startFaultProxy(endpoint, {
      rewrite(call, output) {
        if (call.operation === 'DescribeTable') {
          const table = output.Table as { TableName: string; TableStatus: string };
          if (isSlow(table.TableName) && stillCreating(table.TableName)) table.TableStatus = 'CREATING';
        }
        if (call.operation === 'DescribeStream') {
          const stream = output.StreamDescription as {
            TableName: string;
            StreamStatus: string;
            StreamArn: string;
          };
          if (isSlow(stream.TableName) && stillCreating(stream.StreamArn)) stream.StreamStatus = 'ENABLING';
        }
        return output;
      },
    });
    previousEndpoint = process.env.AWS_ENDPOINT_URL;
    process.env.AWS_ENDPOINT_URL = proxy.url;
    clients = createAwsClients({ forcePathStyle: true });
  });
  afterAll(async () => {
    process.env.AWS_ENDPOINT_URL = previousEndpoint;
    await proxy?.stop();
  });

  async function provision(prefix: string): Promise<Provisioned> {
    const bus = await clients.eventBridge.send(new DescribeEventBusCommand({ Name: 'default' }));
    return provisionResources({
      template,
      environment: {
        region: await clients.sqs.config.region(),
        accountId: bus.Arn!.split(':')[4]!,
        partition: 'aws',
        urlSuffix: 'amazonaws.com',
        prefix,
      },
      clients,
      rules: wiring.rules,
      functionIds: wiring.functions.map((fn) => fn.logicalId),
    });
  }

  /** Everything the endpoint says about the resources under `prefix`. */
  async function describeAll(prefix: string): Promise<Record<string, unknown>> {
    const mine = (name: string | undefined) => name?.startsWith(`${prefix}-`) === true;
    const tables: Record<string, unknown> = {};
    // Paged: the emulator a test worker shares holds every earlier file's tables, 100 to a page.
    const names: string[] = [];
    for await (const page of paginateListTables({ client: clients.dynamo }, {}))
      names.push(...page.TableNames!);
    for (const name of names.filter(mine)) {
      const table = (await clients.dynamo.send(new DescribeTableCommand({ TableName: name }))).Table!;
      tables[name] = {
        table,
        ttl: (await clients.dynamo.send(new DescribeTimeToLiveCommand({ TableName: name })))
          .TimeToLiveDescription,
        stream:
          table.LatestStreamArn === undefined
            ? null
            : (await clients.streams.send(new DescribeStreamCommand({ StreamArn: table.LatestStreamArn })))
                .StreamDescription,
      };
    }
    const queues: Record<string, unknown> = {};
    for (const url of (await clients.sqs.send(new ListQueuesCommand({ QueueNamePrefix: `${prefix}-` })))
      .QueueUrls ?? []) {
      queues[url] = (
        await clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }))
      ).Attributes;
    }
    const buckets: Record<string, unknown> = {};
    for (const bucket of (await clients.s3.send(new ListBucketsCommand({}))).Buckets ?? []) {
      if (!mine(bucket.Name)) continue;
      buckets[bucket.Name!] = {
        created: bucket.CreationDate?.toISOString(),
        versioning: (await clients.s3.send(new GetBucketVersioningCommand({ Bucket: bucket.Name }))).Status,
      };
    }
    const buses = (await clients.eventBridge.send(new ListEventBusesCommand({ NamePrefix: `${prefix}-` })))
      .EventBuses!;
    const rules: Record<string, unknown> = {};
    for (const bus of buses) {
      for (const rule of (await clients.eventBridge.send(new ListRulesCommand({ EventBusName: bus.Name })))
        .Rules!) {
        const targets = await clients.eventBridge.send(
          new ListTargetsByRuleCommand({ Rule: rule.Name, EventBusName: bus.Name }),
        );
        rules[rule.Arn!] = { rule, targets: targets.Targets };
      }
    }
    return { tables, queues, buckets, buses, rules };
  }

  it('run twice, changes nothing the second time', async () => {
    // Prepare
    const prefix = uniquePrefix('prov');
    const first = await provision(prefix);
    const before = await describeAll(prefix);

    // Act
    const second = await provision(prefix);

    // Assess
    expect(await describeAll(prefix)).toEqual(before);
    expect(Object.keys(before.tables as object)).toHaveLength(2);
    expect(Object.keys(before.queues as object)).toHaveLength(5);
    expect(Object.keys(before.rules as object)).toHaveLength(1);
    expect([...first.actions.values()].every((action) => action === 'created')).toBe(true);
    expect([...second.actions.entries()]).toEqual([...first.actions.keys()].map((id) => [id, 'existing']));
    expect(Object.fromEntries(second.resources)).toEqual(Object.fromEntries(first.resources));
  });

  it('refuses a resource that differs from the template, naming every difference, and creates nothing after it', async () => {
    // Prepare: a table under the prefix's name for the Records table, keyed otherwise and without a stream.
    const prefix = uniquePrefix('prov');
    await clients.dynamo.send(
      new CreateTableCommand({
        TableName: `${prefix}-records`,
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      }),
    );

    // Act
    const refused = provision(prefix);

    // Assess
    await expect(refused).rejects.toThrow(ProvisioningMismatchError);
    await expect(refused).rejects.toThrow(
      /Records[0-9A-F]{8} \(.*-records\) KeySchema: the template declares "pk:HASH", the endpoint has "id:HASH"/,
    );
    await expect(refused).rejects.toThrow(
      /StreamSpecification\.StreamViewType: the template declares "NEW_AND_OLD_IMAGES", the endpoint has null/,
    );
    // Tables come first: the one before the refused table was created, nothing after it.
    const described = await describeAll(prefix);
    expect(Object.keys(described.tables as object).sort()).toEqual([
      `${prefix}-observations`,
      `${prefix}-records`,
    ]);
    expect(described.queues).toEqual({});
    expect(described.buses).toEqual([]);
  });

  it('waits until tables and streams are active, and a write right after yields its stream record', async () => {
    // Prepare: an endpoint that reports new tables CREATING and their streams ENABLING at first.
    const prefix = uniquePrefix('prov');
    slowPrefixes.add(prefix);

    // Act
    const provisioned = await provision(prefix);
    const records = [...provisioned.resources.values()].find(
      (resource) => resource.physicalName === `${prefix}-records`,
    )!;
    await clients.dynamo.send(
      new PutItemCommand({
        TableName: records.physicalName,
        Item: { pk: { S: 'right-after' }, kind: { S: 'x' } },
      }),
    );

    // Assess: provisioning returned only once every table and stream looked usable.
    for (const table of [`${prefix}-records`, `${prefix}-observations`]) {
      expect(notYetActive.get(table), table).toBeGreaterThan(NOT_YET_ACTIVE_DESCRIBES);
    }
    expect(notYetActive.get(records.streamArn!)).toBeGreaterThan(NOT_YET_ACTIVE_DESCRIBES);
    const stream = await clients.streams.send(new DescribeStreamCommand({ StreamArn: records.streamArn }));
    const iterator = await clients.streams.send(
      new GetShardIteratorCommand({
        StreamArn: records.streamArn,
        ShardId: stream.StreamDescription!.Shards![0]!.ShardId,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    const read = await clients.streams.send(new GetRecordsCommand({ ShardIterator: iterator.ShardIterator }));
    expect(read.Records?.map((record) => [record.eventName, record.dynamodb?.Keys?.pk?.S])).toEqual([
      ['INSERT', 'right-after'],
    ]);
  });
});
