/**
 * Creates the template's tables, queues, buses, event-pattern rules and buckets in the
 * emulator, in dependency order, and resolves intrinsics to the emulator's physical values.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type GlobalSecondaryIndex,
  type Projection as IndexProjection,
  type KeySchemaElement,
  type TableDescription,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand } from '@aws-sdk/client-dynamodb-streams';
import {
  CreateEventBusCommand,
  DescribeEventBusCommand,
  DescribeRuleCommand,
  type DescribeRuleCommandOutput,
  ListTargetsByRuleCommand,
  PutRuleCommand,
  PutTargetsCommand,
  type Target,
} from '@aws-sdk/client-eventbridge';
import {
  type BucketLocationConstraint,
  CreateBucketCommand,
  GetBucketVersioningCommand,
  HeadBucketCommand,
  PutBucketVersioningCommand,
} from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import { sleep } from '../../shared/async/index.js';
import type { AwsClients } from '../../shared/aws/index.js';
import { ProvisioningMismatchError, RuntimeConfigurationError, TemplateError } from './errors.js';
import { type IntrinsicScope, referencedLogicalIds, resolveIntrinsics } from './intrinsics.js';
import { type NamedResourceType, type NameRequest, physicalNames } from './names.js';
import {
  type CloudFormationTemplate,
  logicalIdsOfType,
  parseProperties,
  QUEUE_PLAIN_ATTRIBUTES,
} from './template.js';
import type { RuleWiring } from './types.js';

export interface Environment {
  region: string;
  accountId: string;
  partition: string;
  urlSuffix: string;
  /** Stands in for the stack name in `AWS::StackName` and `AWS::StackId`. */
  prefix: string;
}

/** A resource as it exists locally: its physical name and, when it has them, ARN and URL. */
export interface ProvisionedResource {
  type: string;
  physicalName: string;
  arn?: string;
  url?: string;
  streamArn?: string;
}

/** Resources the runtime creates in the emulator, in this order of preference when independent. */
const CREATED_TYPES = [
  'AWS::DynamoDB::Table',
  'AWS::SQS::Queue',
  'AWS::S3::Bucket',
  'AWS::Events::EventBus',
  'AWS::Events::Rule',
] as const;

const KeySchema = z.array(
  z.object({ AttributeName: z.string(), KeyType: z.enum(['HASH', 'RANGE']) }).strict(),
);
const Projection = z
  .object({
    ProjectionType: z.enum(['ALL', 'KEYS_ONLY', 'INCLUDE']).optional(),
    NonKeyAttributes: z.array(z.string()).optional(),
  })
  .strict();
const SecondaryIndex = z
  .object({
    IndexName: z.string(),
    KeySchema,
    Projection,
    ProvisionedThroughput: z.unknown().optional(),
    OnDemandThroughput: z.unknown().optional(),
    WarmThroughput: z.unknown().optional(),
    ContributorInsightsSpecification: z.unknown().optional(),
  })
  .strict();

const TableProperties = z
  .object({
    KeySchema,
    AttributeDefinitions: z.array(
      z.object({ AttributeName: z.string(), AttributeType: z.enum(['S', 'N', 'B']) }).strict(),
    ),
    GlobalSecondaryIndexes: z.array(SecondaryIndex).optional(),
    LocalSecondaryIndexes: z.array(SecondaryIndex).optional(),
    StreamSpecification: z
      .object({ StreamViewType: z.enum(['KEYS_ONLY', 'NEW_IMAGE', 'OLD_IMAGE', 'NEW_AND_OLD_IMAGES']) })
      .strict()
      .optional(),
    TimeToLiveSpecification: z
      .object({ AttributeName: z.string().optional(), Enabled: z.boolean() })
      .strict()
      .optional(),
  })
  .loose();

const QueueProperties = z
  .object({
    FifoQueue: z.boolean().optional(),
    ContentBasedDeduplication: z.boolean().optional(),
    DeduplicationScope: z.enum(['messageGroup', 'queue']).optional(),
    FifoThroughputLimit: z.enum(['perQueue', 'perMessageGroupId']).optional(),
    VisibilityTimeout: z.number().int().min(0).optional(),
    MessageRetentionPeriod: z.number().int().positive().optional(),
    ReceiveMessageWaitTimeSeconds: z.number().int().min(0).max(20).optional(),
    DelaySeconds: z.number().int().min(0).optional(),
    MaximumMessageSize: z.number().int().positive().optional(),
    RedrivePolicy: z
      .object({ deadLetterTargetArn: z.string(), maxReceiveCount: z.coerce.number().int().positive() })
      .strict()
      .optional(),
  })
  .loose();

const BucketProperties = z
  .object({
    VersioningConfiguration: z
      .object({ Status: z.enum(['Enabled', 'Suspended']) })
      .strict()
      .optional(),
  })
  .loose();

export interface ProvisionInput {
  template: CloudFormationTemplate;
  environment: Environment;
  clients: AwsClients;
  /** Rules of the template; event-pattern rules are created, schedule rules only named. */
  rules: readonly RuleWiring[];
  /** Functions the runtime runs; named so references to them resolve. */
  functionIds: readonly string[];
}

export interface Provisioned {
  resources: Map<string, ProvisionedResource>;
  scope: IntrinsicScope;
  /** Which resources were created and which were found (and checked), by logical id. */
  actions: ReadonlyMap<string, ProvisionAction>;
}

function isFifo(template: CloudFormationTemplate, logicalId: string): boolean {
  return template.Resources[logicalId]?.Properties?.FifoQueue === true;
}

function nameRequests(template: CloudFormationTemplate, functionIds: readonly string[]): NameRequest[] {
  const requests: NameRequest[] = [];
  const namedTypes: NamedResourceType[] = [
    'AWS::DynamoDB::Table',
    'AWS::SQS::Queue',
    'AWS::Events::EventBus',
    'AWS::Events::Rule',
    'AWS::S3::Bucket',
  ];
  for (const type of namedTypes) {
    for (const logicalId of logicalIdsOfType(template, type)) {
      const fifo = type === 'AWS::SQS::Queue' && isFifo(template, logicalId);
      requests.push(fifo ? { logicalId, type, suffix: '.fifo' } : { logicalId, type });
    }
  }
  for (const logicalId of functionIds) requests.push({ logicalId, type: 'AWS::Lambda::Function' });
  return requests;
}

function initialResources(input: ProvisionInput): Map<string, ProvisionedResource> {
  const { template, environment } = input;
  const names = physicalNames(environment.prefix, nameRequests(template, input.functionIds));
  const resources = new Map<string, ProvisionedResource>();
  for (const [logicalId, physicalName] of names) {
    const type = template.Resources[logicalId]?.Type ?? '';
    const resource: ProvisionedResource = { type, physicalName };
    const { partition, region, accountId } = environment;
    if (type === 'AWS::S3::Bucket') resource.arn = `arn:${partition}:s3:::${physicalName}`;
    if (type === 'AWS::Lambda::Function')
      resource.arn = `arn:${partition}:lambda:${region}:${accountId}:function:${physicalName}`;
    if (type === 'AWS::Events::Rule')
      resource.arn = `arn:${partition}:events:${region}:${accountId}:rule/${physicalName}`;
    resources.set(logicalId, resource);
  }
  return resources;
}

function createScope(input: ProvisionInput, resources: Map<string, ProvisionedResource>): IntrinsicScope {
  const { environment, template } = input;
  const pseudo: Record<string, string> = {
    'AWS::Region': environment.region,
    'AWS::AccountId': environment.accountId,
    'AWS::Partition': environment.partition,
    'AWS::URLSuffix': environment.urlSuffix,
    'AWS::StackName': environment.prefix,
    'AWS::StackId': `arn:${environment.partition}:cloudformation:${environment.region}:${environment.accountId}:stack/${environment.prefix}/local`,
  };
  const known = (logicalId: string, what: string): ProvisionedResource => {
    const resource = resources.get(logicalId);
    if (resource) return resource;
    const type = template.Resources[logicalId]?.Type;
    throw new TemplateError(
      type === undefined
        ? `${what}: ${logicalId} is not declared in the template`
        : `${what}: ${logicalId} (${type}) has no local value`,
    );
  };
  const present = (value: string | undefined, logicalId: string, what: string): string => {
    if (value === undefined) throw new TemplateError(`${what}: ${logicalId} is used before it is created`);
    return value;
  };
  return {
    ref(name) {
      if (Object.hasOwn(pseudo, name)) return pseudo[name];
      const parameter = template.Parameters?.[name];
      if (parameter !== undefined) {
        if (parameter.Default === undefined) throw new TemplateError(`Ref ${name}: parameter has no default`);
        return parameter.Default;
      }
      const resource = known(name, `Ref ${name}`);
      return resource.type === 'AWS::SQS::Queue'
        ? present(resource.url, name, `Ref ${name}`)
        : resource.physicalName;
    },
    getAtt(logicalId, attribute) {
      const what = `Fn::GetAtt ${logicalId}.${attribute}`;
      const resource = known(logicalId, what);
      const attributes: Record<string, () => string> = {
        Arn: () => present(resource.arn, logicalId, what),
        ...(resource.type === 'AWS::SQS::Queue' && {
          QueueUrl: () => present(resource.url, logicalId, what),
          QueueName: () => resource.physicalName,
        }),
        ...(resource.type === 'AWS::DynamoDB::Table' && {
          StreamArn: () => present(resource.streamArn, logicalId, what),
        }),
        ...(resource.type === 'AWS::Events::EventBus' && { Name: () => resource.physicalName }),
        ...(resource.type === 'AWS::S3::Bucket' && {
          DomainName: () => `${resource.physicalName}.s3.${environment.urlSuffix}`,
          RegionalDomainName: () =>
            `${resource.physicalName}.s3.${environment.region}.${environment.urlSuffix}`,
        }),
      };
      const value = attributes[attribute];
      if (!value) throw new TemplateError(`${what}: attribute not available locally`);
      return value();
    },
  };
}

/** Resources to create, dependencies first (references and DependsOn among them). */
function creationOrder(template: CloudFormationTemplate, created: ReadonlySet<string>): string[] {
  const dependencies = new Map<string, string[]>();
  for (const logicalId of created) {
    const resource = template.Resources[logicalId];
    const dependsOn = resource?.DependsOn === undefined ? [] : [resource.DependsOn].flat();
    const referenced = [...referencedLogicalIds(resource?.Properties ?? {}), ...dependsOn];
    dependencies.set(
      logicalId,
      referenced.filter((id) => created.has(id) && id !== logicalId),
    );
  }
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (logicalId: string, chain: string[]): void => {
    if (state.get(logicalId) === 'done') return;
    if (state.get(logicalId) === 'visiting') {
      throw new TemplateError(`circular dependency: ${[...chain, logicalId].join(' -> ')}`);
    }
    state.set(logicalId, 'visiting');
    for (const dependency of dependencies.get(logicalId) ?? []) visit(dependency, [...chain, logicalId]);
    state.set(logicalId, 'done');
    order.push(logicalId);
  };
  const preference = (id: string) =>
    CREATED_TYPES.indexOf(template.Resources[id]?.Type as (typeof CREATED_TYPES)[number]);
  for (const logicalId of [...created].sort((a, b) => preference(a) - preference(b) || a.localeCompare(b))) {
    visit(logicalId, []);
  }
  return order;
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new TemplateError(`${what} is missing after provisioning`);
  return value;
}

function resolved(scope: IntrinsicScope, logicalId: string, properties: unknown): unknown {
  return resolveIntrinsics(properties ?? {}, scope, `${logicalId}.Properties`);
}

function indexFor(index: z.infer<typeof SecondaryIndex>): GlobalSecondaryIndex {
  return { IndexName: index.IndexName, KeySchema: index.KeySchema, Projection: index.Projection };
}

/** One setting of an existing resource that differs from the template. */
export interface Difference {
  logicalId: string;
  physicalName: string;
  setting: string;
  expected: unknown;
  found: unknown;
}

/** What provisioning saw of each resource: created now, or found and checked. */
export type ProvisionAction = 'created' | 'existing';

/** The differences so far; a missing resource is not created once there is one. */
interface Check {
  differences: Difference[];
  actions: Map<string, ProvisionAction>;
}

function compare(
  check: Check,
  logicalId: string,
  resource: ProvisionedResource,
  setting: string,
  expected: unknown,
  found: unknown,
): void {
  if (JSON.stringify(expected) === JSON.stringify(found)) return;
  check.differences.push({ logicalId, physicalName: resource.physicalName, setting, expected, found });
}

function isNamed(error: unknown, ...names: string[]): boolean {
  return error instanceof Error && names.includes(error.name);
}

/** How long provisioning waits for a table, its indexes and its stream to become usable. */
const ACTIVE_TIMEOUT_MS = 120_000;
const ACTIVE_POLL_MS = 200;

/**
 * Waits until the table and its indexes are ACTIVE and its stream (if any) ENABLED: an
 * emulator that creates them asynchronously (LocalStack) drops the stream records of writes
 * made before.
 */
export async function waitUntilTableActive(
  clients: AwsClients,
  tableName: string,
): Promise<TableDescription> {
  const deadline = Date.now() + ACTIVE_TIMEOUT_MS;
  let state = 'not described yet';
  while (Date.now() < deadline) {
    const table = (await clients.dynamo.send(new DescribeTableCommand({ TableName: tableName }))).Table;
    const indexes = table?.GlobalSecondaryIndexes ?? [];
    const streamArn = table?.StreamSpecification?.StreamEnabled ? table.LatestStreamArn : undefined;
    const streamStatus =
      streamArn === undefined
        ? 'ENABLED'
        : (await clients.streams.send(new DescribeStreamCommand({ StreamArn: streamArn, Limit: 1 })))
            .StreamDescription?.StreamStatus;
    const inactive = indexes
      .filter((index) => index.IndexStatus !== 'ACTIVE')
      .map((index) => index.IndexName);
    if (table?.TableStatus === 'ACTIVE' && inactive.length === 0 && streamStatus === 'ENABLED') return table;
    state = `table ${table?.TableStatus}, indexes not active [${inactive.join(', ')}], stream ${streamStatus}`;
    await sleep(ACTIVE_POLL_MS);
  }
  throw new RuntimeConfigurationError(
    `table ${tableName} did not become ACTIVE with its stream ENABLED within ${ACTIVE_TIMEOUT_MS / 1000} s: ${state}`,
  );
}

async function describeTable(clients: AwsClients, tableName: string): Promise<TableDescription | null> {
  try {
    return (await clients.dynamo.send(new DescribeTableCommand({ TableName: tableName }))).Table ?? null;
  } catch (error) {
    if (isNamed(error, 'ResourceNotFoundException')) return null;
    throw error;
  }
}

const keysText = (keys: readonly KeySchemaElement[] | undefined) =>
  (keys ?? []).map((key) => `${key.AttributeName}:${key.KeyType}`).join(',');

function projectionOf(projection: IndexProjection | undefined): Record<string, unknown> {
  return {
    type: projection?.ProjectionType ?? 'ALL',
    nonKeyAttributes: [...(projection?.NonKeyAttributes ?? [])].sort(),
  };
}

function indexesOf(
  indexes:
    | readonly { IndexName?: string; KeySchema?: KeySchemaElement[]; Projection?: IndexProjection }[]
    | undefined,
): Record<string, unknown> {
  return Object.fromEntries(
    [...(indexes ?? [])]
      .sort((a, b) => (a.IndexName ?? '').localeCompare(b.IndexName ?? ''))
      .map((index) => [
        index.IndexName,
        { keys: keysText(index.KeySchema), projection: projectionOf(index.Projection) },
      ]),
  );
}

function checkTable(
  check: Check,
  logicalId: string,
  resource: ProvisionedResource,
  properties: z.infer<typeof TableProperties>,
  table: TableDescription,
): void {
  const same = (setting: string, expected: unknown, found: unknown) =>
    compare(check, logicalId, resource, setting, expected, found);
  same('KeySchema', keysText(properties.KeySchema), keysText(table.KeySchema));
  const attributes = (list: readonly { AttributeName?: string; AttributeType?: string }[] | undefined) =>
    (list ?? []).map((attribute) => `${attribute.AttributeName}:${attribute.AttributeType}`).sort();
  same(
    'AttributeDefinitions',
    attributes(properties.AttributeDefinitions),
    attributes(table.AttributeDefinitions),
  );
  same(
    'GlobalSecondaryIndexes',
    indexesOf(properties.GlobalSecondaryIndexes),
    indexesOf(table.GlobalSecondaryIndexes),
  );
  same(
    'LocalSecondaryIndexes',
    indexesOf(properties.LocalSecondaryIndexes),
    indexesOf(table.LocalSecondaryIndexes),
  );
  const stream = table.StreamSpecification?.StreamEnabled ? table.StreamSpecification.StreamViewType : null;
  same('StreamSpecification.StreamViewType', properties.StreamSpecification?.StreamViewType ?? null, stream);
}

/** Turns on the template's TTL when it is off (a run stopped between creating and configuring the table). */
async function ensureTimeToLive(
  input: ProvisionInput,
  check: Check,
  logicalId: string,
  resource: ProvisionedResource,
  properties: z.infer<typeof TableProperties>,
): Promise<void> {
  const ttl = properties.TimeToLiveSpecification;
  if (!ttl?.Enabled) return;
  if (!ttl.AttributeName)
    throw new TemplateError(`${logicalId}.TimeToLiveSpecification: AttributeName is required when enabled`);
  const current = (
    await input.clients.dynamo.send(new DescribeTimeToLiveCommand({ TableName: resource.physicalName }))
  ).TimeToLiveDescription;
  const on = current?.TimeToLiveStatus === 'ENABLED' || current?.TimeToLiveStatus === 'ENABLING';
  if (on) {
    compare(
      check,
      logicalId,
      resource,
      'TimeToLiveSpecification.AttributeName',
      ttl.AttributeName,
      current?.AttributeName,
    );
    return;
  }
  await input.clients.dynamo.send(
    new UpdateTimeToLiveCommand({
      TableName: resource.physicalName,
      TimeToLiveSpecification: { AttributeName: ttl.AttributeName, Enabled: true },
    }),
  );
}

async function ensureTable(
  input: ProvisionInput,
  check: Check,
  logicalId: string,
  resource: ProvisionedResource,
  scope: IntrinsicScope,
): Promise<ProvisionAction | null> {
  const properties = parseProperties(
    TableProperties,
    logicalId,
    resolved(scope, logicalId, input.template.Resources[logicalId]?.Properties),
  );
  const existing = await describeTable(input.clients, resource.physicalName);
  if (existing !== null) {
    const before = check.differences.length;
    checkTable(check, logicalId, resource, properties, existing);
    if (check.differences.length > before) return 'existing';
  } else if (check.differences.length > 0) {
    return null;
  } else {
    const stream = properties.StreamSpecification;
    await input.clients.dynamo.send(
      new CreateTableCommand({
        TableName: resource.physicalName,
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: properties.KeySchema,
        AttributeDefinitions: properties.AttributeDefinitions,
        GlobalSecondaryIndexes: properties.GlobalSecondaryIndexes?.map(indexFor),
        LocalSecondaryIndexes: properties.LocalSecondaryIndexes?.map(indexFor),
        StreamSpecification: stream
          ? { StreamEnabled: true, StreamViewType: stream.StreamViewType }
          : undefined,
      }),
    );
  }
  const table = await waitUntilTableActive(input.clients, resource.physicalName);
  resource.arn = table.TableArn;
  resource.streamArn = table.StreamSpecification?.StreamEnabled ? table.LatestStreamArn : undefined;
  await ensureTimeToLive(input, check, logicalId, resource, properties);
  return existing === null ? 'created' : 'existing';
}

/** The queue's attributes as SQS takes and returns them (strings; RedrivePolicy as JSON). */
function queueAttributes(properties: z.infer<typeof QueueProperties>): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const name of QUEUE_PLAIN_ATTRIBUTES) {
    const value = properties[name];
    if (value !== undefined) attributes[name] = String(value);
  }
  if (properties.RedrivePolicy) attributes.RedrivePolicy = JSON.stringify(properties.RedrivePolicy);
  return attributes;
}

function redrivePolicyOf(text: string | undefined): unknown {
  if (text === undefined) return null;
  const policy = JSON.parse(text) as { deadLetterTargetArn?: unknown; maxReceiveCount?: unknown };
  return { deadLetterTargetArn: policy.deadLetterTargetArn, maxReceiveCount: Number(policy.maxReceiveCount) };
}

async function queueUrlOf(clients: AwsClients, queueName: string): Promise<string | null> {
  try {
    return (await clients.sqs.send(new GetQueueUrlCommand({ QueueName: queueName }))).QueueUrl ?? null;
  } catch (error) {
    if (isNamed(error, 'QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue')) return null;
    throw error;
  }
}

async function ensureQueue(
  input: ProvisionInput,
  check: Check,
  logicalId: string,
  resource: ProvisionedResource,
  scope: IntrinsicScope,
): Promise<ProvisionAction | null> {
  const properties = parseProperties(
    QueueProperties,
    logicalId,
    resolved(scope, logicalId, input.template.Resources[logicalId]?.Properties),
  );
  const expected = queueAttributes(properties);
  let url = await queueUrlOf(input.clients, resource.physicalName);
  const existing = url !== null;
  if (url === null) {
    if (check.differences.length > 0) return null;
    url = required(
      (
        await input.clients.sqs.send(
          new CreateQueueCommand({ QueueName: resource.physicalName, Attributes: expected }),
        )
      ).QueueUrl,
      `${logicalId} QueueUrl`,
    );
  }
  resource.url = url;
  const found =
    (await input.clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] })))
      .Attributes ?? {};
  resource.arn = found.QueueArn;
  if (existing) {
    for (const name of QUEUE_PLAIN_ATTRIBUTES) {
      if (expected[name] !== undefined)
        compare(check, logicalId, resource, name, expected[name], found[name]);
    }
    compare(
      check,
      logicalId,
      resource,
      'RedrivePolicy',
      redrivePolicyOf(expected.RedrivePolicy),
      redrivePolicyOf(found.RedrivePolicy),
    );
  }
  return existing ? 'existing' : 'created';
}

async function bucketExists(clients: AwsClients, bucket: string): Promise<boolean> {
  try {
    await clients.s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return true;
  } catch (error) {
    if (isNamed(error, 'NotFound', 'NoSuchBucket')) return false;
    throw error;
  }
}

async function ensureBucket(
  input: ProvisionInput,
  check: Check,
  logicalId: string,
  resource: ProvisionedResource,
  scope: IntrinsicScope,
): Promise<ProvisionAction | null> {
  const properties = parseProperties(
    BucketProperties,
    logicalId,
    resolved(scope, logicalId, input.template.Resources[logicalId]?.Properties),
  );
  const { region } = input.environment;
  const existing = await bucketExists(input.clients, resource.physicalName);
  if (!existing) {
    if (check.differences.length > 0) return null;
    await input.clients.s3.send(
      new CreateBucketCommand({
        Bucket: resource.physicalName,
        ...(region !== 'us-east-1' && {
          CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint },
        }),
      }),
    );
  }
  const versioning = properties.VersioningConfiguration?.Status;
  if (versioning !== undefined) {
    const found = (
      await input.clients.s3.send(new GetBucketVersioningCommand({ Bucket: resource.physicalName }))
    ).Status;
    // A bucket that never had versioning is brought to the template's setting; one set otherwise differs.
    if (found === undefined) {
      await input.clients.s3.send(
        new PutBucketVersioningCommand({
          Bucket: resource.physicalName,
          VersioningConfiguration: { Status: versioning },
        }),
      );
    } else {
      compare(check, logicalId, resource, 'VersioningConfiguration.Status', versioning, found);
    }
  }
  return existing ? 'existing' : 'created';
}

async function ensureEventBus(
  input: ProvisionInput,
  check: Check,
  resource: ProvisionedResource,
): Promise<ProvisionAction | null> {
  try {
    const bus = await input.clients.eventBridge.send(
      new DescribeEventBusCommand({ Name: resource.physicalName }),
    );
    resource.arn = bus.Arn;
    return 'existing';
  } catch (error) {
    if (!isNamed(error, 'ResourceNotFoundException')) throw error;
  }
  if (check.differences.length > 0) return null;
  const bus = await input.clients.eventBridge.send(
    new CreateEventBusCommand({ Name: resource.physicalName }),
  );
  resource.arn = bus.EventBusArn;
  return 'created';
}

interface ExistingRule {
  arn: string | undefined;
  pattern: unknown;
  state: string | undefined;
  targets: Target[];
}

async function describeRule(
  clients: AwsClients,
  name: string,
  eventBusName: string | undefined,
): Promise<ExistingRule | null> {
  let rule: DescribeRuleCommandOutput;
  try {
    rule = await clients.eventBridge.send(
      new DescribeRuleCommand({ Name: name, EventBusName: eventBusName }),
    );
  } catch (error) {
    if (isNamed(error, 'ResourceNotFoundException')) return null;
    throw error;
  }
  const targets: Target[] = [];
  let nextToken: string | undefined;
  do {
    const page = await clients.eventBridge.send(
      new ListTargetsByRuleCommand({ Rule: name, EventBusName: eventBusName, NextToken: nextToken }),
    );
    targets.push(...(page.Targets ?? []));
    nextToken = page.NextToken;
  } while (nextToken !== undefined);
  return {
    arn: rule.Arn,
    pattern: rule.EventPattern === undefined ? null : JSON.parse(rule.EventPattern),
    state: rule.State,
    targets,
  };
}

function targetText(target: Target): string {
  const group = target.SqsParameters?.MessageGroupId;
  return `${target.Id} -> ${target.Arn}${group === undefined ? '' : ` (group ${group})`}`;
}

async function ensurePatternRule(
  input: ProvisionInput,
  check: Check,
  rule: RuleWiring,
  resources: Map<string, ProvisionedResource>,
): Promise<ProvisionAction | null> {
  if (rule.trigger.kind !== 'pattern') return null;
  const resource = resources.get(rule.logicalId);
  if (!resource) throw new TemplateError(`${rule.logicalId}: rule has no physical name`);
  const eventBusName = rule.bus === null ? undefined : resources.get(rule.bus)?.physicalName;
  const state = rule.enabled ? 'ENABLED' : 'DISABLED';
  const targets: Target[] = rule.targets.map((target) => {
    const arn = resources.get(target.logicalId)?.arn;
    if (arn === undefined)
      throw new TemplateError(`${rule.logicalId}: target ${target.id} is used before it is created`);
    return {
      Id: target.id,
      Arn: arn,
      ...(target.messageGroupId !== null && { SqsParameters: { MessageGroupId: target.messageGroupId } }),
    };
  });
  const existing = await describeRule(input.clients, resource.physicalName, eventBusName);
  if (existing === null && check.differences.length > 0) return null;
  let missingTargets = targets;
  if (existing === null) {
    const created = await input.clients.eventBridge.send(
      new PutRuleCommand({
        Name: resource.physicalName,
        EventBusName: eventBusName,
        EventPattern: JSON.stringify(rule.trigger.pattern),
        State: state,
      }),
    );
    resource.arn = created.RuleArn;
  } else {
    resource.arn = existing.arn;
    const before = check.differences.length;
    compare(check, rule.logicalId, resource, 'EventPattern', rule.trigger.pattern, existing.pattern);
    compare(check, rule.logicalId, resource, 'State', state, existing.state);
    const found = new Map(existing.targets.map((target) => [target.Id, targetText(target)]));
    const extra = [...found.keys()].filter((id) => !targets.some((target) => target.Id === id));
    if (
      extra.length > 0 ||
      targets.some((target) => found.has(target.Id) && found.get(target.Id) !== targetText(target))
    ) {
      compare(
        check,
        rule.logicalId,
        resource,
        'Targets',
        targets.map(targetText),
        existing.targets.map(targetText),
      );
    }
    if (check.differences.length > before) return 'existing';
    // Targets a run stopped before adding are added now.
    missingTargets = targets.filter((target) => !found.has(target.Id));
  }
  if (missingTargets.length > 0) {
    const response = await input.clients.eventBridge.send(
      new PutTargetsCommand({
        Rule: resource.physicalName,
        EventBusName: eventBusName,
        Targets: missingTargets,
      }),
    );
    if ((response.FailedEntryCount ?? 0) > 0) {
      throw new TemplateError(
        `${rule.logicalId}: the emulator refused targets ${JSON.stringify(response.FailedEntries)}`,
      );
    }
  }
  return existing === null ? 'created' : 'existing';
}

function differencesText(differences: readonly Difference[]): string {
  return differences
    .map(
      (difference) =>
        `  ${difference.logicalId} (${difference.physicalName}) ${difference.setting}: the template declares ${JSON.stringify(difference.expected)}, the endpoint has ${JSON.stringify(difference.found)}`,
    )
    .join('\n');
}

/**
 * Creates every emulated resource of the template that is missing, checks that those already
 * there match the template, and returns their physical values. Run twice, it changes nothing
 * the second time. A difference is refused with all differences listed; nothing missing is
 * created once one is found. Tables are ACTIVE, with their streams ENABLED, on return.
 */
export async function provisionResources(input: ProvisionInput): Promise<Provisioned> {
  const { template } = input;
  const resources = initialResources(input);
  const scope = createScope(input, resources);
  const rulesById = new Map(input.rules.map((rule) => [rule.logicalId, rule]));
  const provisioned = new Set(
    CREATED_TYPES.flatMap((type) => logicalIdsOfType(template, type)).filter(
      (logicalId) =>
        template.Resources[logicalId]?.Type !== 'AWS::Events::Rule' ||
        rulesById.get(logicalId)?.trigger.kind === 'pattern',
    ),
  );
  const check: Check = { differences: [], actions: new Map() };
  for (const logicalId of creationOrder(template, provisioned)) {
    const resource = resources.get(logicalId);
    if (!resource) throw new TemplateError(`${logicalId}: no physical name`);
    let action: ProvisionAction | null;
    try {
      switch (resource.type) {
        case 'AWS::DynamoDB::Table':
          action = await ensureTable(input, check, logicalId, resource, scope);
          break;
        case 'AWS::SQS::Queue':
          action = await ensureQueue(input, check, logicalId, resource, scope);
          break;
        case 'AWS::S3::Bucket':
          action = await ensureBucket(input, check, logicalId, resource, scope);
          break;
        case 'AWS::Events::EventBus':
          action = await ensureEventBus(input, check, resource);
          break;
        case 'AWS::Events::Rule': {
          const rule = rulesById.get(logicalId);
          action = rule ? await ensurePatternRule(input, check, rule, resources) : null;
          break;
        }
        default:
          throw new TemplateError(`${logicalId}: ${resource.type} is not created in the emulator`);
      }
    } catch (error) {
      // A resource that depends on one left uncreated cannot be checked: report what differs.
      if (check.differences.length > 0 && error instanceof TemplateError) break;
      throw error;
    }
    if (action !== null) check.actions.set(logicalId, action);
  }
  if (check.differences.length > 0) {
    throw new ProvisioningMismatchError(
      `resources under the prefix ${input.environment.prefix} differ from the template; delete them or use another prefix:\n${differencesText(check.differences)}`,
    );
  }
  return { resources, scope, actions: check.actions };
}
