/**
 * Creates the template's tables, queues, buses, event-pattern rules and buckets in the
 * emulator, in dependency order, and resolves intrinsics to the emulator's physical values.
 */
import {
  CreateTableCommand,
  type GlobalSecondaryIndex,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateEventBusCommand, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import {
  type BucketLocationConstraint,
  CreateBucketCommand,
  PutBucketVersioningCommand,
} from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import type { AwsClients } from '../../shared/aws/index.js';
import { TemplateError } from './errors.js';
import { type IntrinsicScope, referencedLogicalIds, resolveIntrinsics } from './intrinsics.js';
import { type NamedResourceType, type NameRequest, physicalNames } from './names.js';
import { type CloudFormationTemplate, logicalIdsOfType, parseProperties } from './template.js';
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

function resolved(scope: IntrinsicScope, logicalId: string, properties: unknown): unknown {
  return resolveIntrinsics(properties ?? {}, scope, `${logicalId}.Properties`);
}

function indexFor(index: z.infer<typeof SecondaryIndex>): GlobalSecondaryIndex {
  return { IndexName: index.IndexName, KeySchema: index.KeySchema, Projection: index.Projection };
}

async function createTable(
  input: ProvisionInput,
  logicalId: string,
  resource: ProvisionedResource,
  scope: IntrinsicScope,
) {
  const properties = parseProperties(
    TableProperties,
    logicalId,
    resolved(scope, logicalId, input.template.Resources[logicalId]?.Properties),
  );
  const stream = properties.StreamSpecification;
  const created = await input.clients.dynamo.send(
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
  resource.arn = created.TableDescription?.TableArn;
  resource.streamArn = created.TableDescription?.LatestStreamArn;
  const ttl = properties.TimeToLiveSpecification;
  if (ttl?.Enabled) {
    if (!ttl.AttributeName)
      throw new TemplateError(`${logicalId}.TimeToLiveSpecification: AttributeName is required when enabled`);
    await input.clients.dynamo.send(
      new UpdateTimeToLiveCommand({
        TableName: resource.physicalName,
        TimeToLiveSpecification: { AttributeName: ttl.AttributeName, Enabled: true },
      }),
    );
  }
}

async function createQueue(
  input: ProvisionInput,
  logicalId: string,
  resource: ProvisionedResource,
  scope: IntrinsicScope,
): Promise<void> {
  const properties = parseProperties(
    QueueProperties,
    logicalId,
    resolved(scope, logicalId, input.template.Resources[logicalId]?.Properties),
  );
  const attributes: Record<string, string> = {};
  const copied = [
    'FifoQueue',
    'ContentBasedDeduplication',
    'DeduplicationScope',
    'FifoThroughputLimit',
    'VisibilityTimeout',
    'MessageRetentionPeriod',
    'ReceiveMessageWaitTimeSeconds',
    'DelaySeconds',
    'MaximumMessageSize',
  ] as const;
  for (const name of copied) {
    const value = properties[name];
    if (value !== undefined) attributes[name] = String(value);
  }
  if (properties.RedrivePolicy) attributes.RedrivePolicy = JSON.stringify(properties.RedrivePolicy);
  const created = await input.clients.sqs.send(
    new CreateQueueCommand({ QueueName: resource.physicalName, Attributes: attributes }),
  );
  resource.url = created.QueueUrl;
  const described = await input.clients.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: created.QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  resource.arn = described.Attributes?.QueueArn;
}

async function createBucket(
  input: ProvisionInput,
  logicalId: string,
  resource: ProvisionedResource,
  scope: IntrinsicScope,
) {
  const properties = parseProperties(
    BucketProperties,
    logicalId,
    resolved(scope, logicalId, input.template.Resources[logicalId]?.Properties),
  );
  const { region } = input.environment;
  await input.clients.s3.send(
    new CreateBucketCommand({
      Bucket: resource.physicalName,
      ...(region !== 'us-east-1' && {
        CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint },
      }),
    }),
  );
  if (properties.VersioningConfiguration) {
    await input.clients.s3.send(
      new PutBucketVersioningCommand({
        Bucket: resource.physicalName,
        VersioningConfiguration: { Status: properties.VersioningConfiguration.Status },
      }),
    );
  }
}

async function createPatternRule(
  input: ProvisionInput,
  rule: RuleWiring,
  resources: Map<string, ProvisionedResource>,
): Promise<void> {
  if (rule.trigger.kind !== 'pattern') return;
  const resource = resources.get(rule.logicalId);
  if (!resource) throw new TemplateError(`${rule.logicalId}: rule has no physical name`);
  const eventBusName = rule.bus === null ? undefined : resources.get(rule.bus)?.physicalName;
  const created = await input.clients.eventBridge.send(
    new PutRuleCommand({
      Name: resource.physicalName,
      EventBusName: eventBusName,
      EventPattern: JSON.stringify(rule.trigger.pattern),
      State: rule.enabled ? 'ENABLED' : 'DISABLED',
    }),
  );
  resource.arn = created.RuleArn;
  if (rule.targets.length === 0) return;
  const targets = rule.targets.map((target) => {
    const arn = resources.get(target.logicalId)?.arn;
    if (arn === undefined)
      throw new TemplateError(`${rule.logicalId}: target ${target.id} is used before it is created`);
    return {
      Id: target.id,
      Arn: arn,
      ...(target.messageGroupId !== null && { SqsParameters: { MessageGroupId: target.messageGroupId } }),
    };
  });
  const response = await input.clients.eventBridge.send(
    new PutTargetsCommand({ Rule: resource.physicalName, EventBusName: eventBusName, Targets: targets }),
  );
  if ((response.FailedEntryCount ?? 0) > 0) {
    throw new TemplateError(
      `${rule.logicalId}: the emulator refused targets ${JSON.stringify(response.FailedEntries)}`,
    );
  }
}

/** Creates every emulated resource of the template and returns their physical values. */
export async function provisionResources(input: ProvisionInput): Promise<Provisioned> {
  const { template } = input;
  const resources = initialResources(input);
  const scope = createScope(input, resources);
  const rulesById = new Map(input.rules.map((rule) => [rule.logicalId, rule]));
  const created = new Set(
    CREATED_TYPES.flatMap((type) => logicalIdsOfType(template, type)).filter(
      (logicalId) =>
        template.Resources[logicalId]?.Type !== 'AWS::Events::Rule' ||
        rulesById.get(logicalId)?.trigger.kind === 'pattern',
    ),
  );
  for (const logicalId of creationOrder(template, created)) {
    const resource = resources.get(logicalId);
    if (!resource) throw new TemplateError(`${logicalId}: no physical name`);
    switch (resource.type) {
      case 'AWS::DynamoDB::Table':
        await createTable(input, logicalId, resource, scope);
        break;
      case 'AWS::SQS::Queue':
        await createQueue(input, logicalId, resource, scope);
        break;
      case 'AWS::S3::Bucket':
        await createBucket(input, logicalId, resource, scope);
        break;
      case 'AWS::Events::EventBus': {
        const bus = await input.clients.eventBridge.send(
          new CreateEventBusCommand({ Name: resource.physicalName }),
        );
        resource.arn = bus.EventBusArn;
        break;
      }
      case 'AWS::Events::Rule': {
        const rule = rulesById.get(logicalId);
        if (rule) await createPatternRule(input, rule, resources);
        break;
      }
      default:
        throw new TemplateError(`${logicalId}: ${resource.type} is not created in the emulator`);
    }
  }
  return { resources, scope };
}
