/**
 * The synthesized CloudFormation template as the embedded runtime reads it: its shape, and
 * the explicit tables of what is emulated, what is deliberately not, and which properties of
 * each emulated type are applied or ignored. A resource type or property in none of these
 * tables is a TemplateError, so the stack cannot grow something the runtime silently drops.
 */
import { z } from 'zod';
import { TemplateError } from './errors.js';

const TemplateResource = z
  .object({
    Type: z.string().min(1),
    Properties: z.record(z.string(), z.unknown()).optional(),
    Metadata: z.record(z.string(), z.unknown()).optional(),
    DependsOn: z.union([z.string(), z.array(z.string())]).optional(),
    Condition: z.string().optional(),
  })
  .loose();
export type TemplateResource = z.infer<typeof TemplateResource>;

const TemplateParameter = z.object({ Type: z.string(), Default: z.unknown().optional() }).loose();

const CloudFormationTemplate = z
  .object({
    Resources: z.record(z.string(), TemplateResource),
    Parameters: z.record(z.string(), TemplateParameter).optional(),
  })
  .loose();
export type CloudFormationTemplate = z.infer<typeof CloudFormationTemplate>;

/** Validates the template's outer shape; the error names the offending path. */
export function parseTemplate(template: unknown): CloudFormationTemplate {
  const parsed = CloudFormationTemplate.safeParse(template);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map(
    (issue) => `${issue.path.join('.') || '(template)'}: ${issue.message}`,
  );
  throw new TemplateError(`not a CloudFormation template: ${issues.join('; ')}`, { cause: parsed.error });
}

/** What the runtime does with each resource type it reproduces. */
export const EMULATED_RESOURCE_TYPES = {
  'AWS::DynamoDB::Table': 'created in the emulator (keys, GSIs, LSIs, stream, TTL; always on-demand)',
  'AWS::SQS::Queue': 'created in the emulator (timeouts, retention, redrive to its DLQ, FIFO)',
  'AWS::Events::EventBus': 'created in the emulator',
  'AWS::Events::Rule':
    'event-pattern rules and their SQS targets are created in the emulator, which routes matching events; schedule rules are fired by the runtime',
  'AWS::S3::Bucket': 'created in the emulator (versioning applied)',
  'AWS::Lambda::Function': 'run in its own worker thread when it carries spd:function metadata',
  'AWS::Lambda::EventSourceMapping': 'driven by the runtime: SQS long polling, DynamoDB stream shard readers',
  'AWS::ApiGateway::RestApi': 'served by the local HTTP server',
  'AWS::ApiGateway::Resource': 'a path segment of the local HTTP server',
  'AWS::ApiGateway::Method': 'a route of the local HTTP server (Lambda proxy integration, SigV4 for AWS_IAM)',
} as const;
export type EmulatedResourceType = keyof typeof EMULATED_RESOURCE_TYPES;

const NO_IAM = 'the emulator does not enforce IAM; the local API checks SigV4 against its credentials table';

/** Resource types present in the stack that the runtime deliberately does not reproduce, and why. */
export const NOT_EMULATED_RESOURCE_TYPES: Readonly<Record<string, string>> = {
  'AWS::IAM::Role': NO_IAM,
  'AWS::IAM::Policy': NO_IAM,
  'AWS::IAM::ManagedPolicy': NO_IAM,
  'AWS::SQS::QueuePolicy': 'resource policies are not evaluated by the emulator',
  'AWS::S3::BucketPolicy': 'resource policies are not evaluated by the emulator',
  'AWS::SNS::TopicPolicy': 'resource policies are not evaluated by the emulator',
  'AWS::Lambda::Permission': 'the runtime invokes its functions directly',
  'AWS::Logs::LogGroup': 'function output goes to the console',
  'AWS::CloudWatch::Alarm': 'no CloudWatch locally',
  'AWS::CloudWatch::Dashboard': 'no CloudWatch locally',
  'AWS::SNS::Topic': 'alarm notifications only; no CloudWatch locally',
  'AWS::ApiGateway::Deployment': 'the local HTTP server serves the methods of the template directly',
  'AWS::ApiGateway::Stage': 'only its StageName is read: the path prefix of the local API',
  'AWS::ApiGateway::Account': 'API Gateway logging role',
  'AWS::CDK::Metadata': 'CDK usage metadata',
  'Custom::S3AutoDeleteObjects':
    'empties a bucket when the stack is deleted; the emulator is discarded instead',
};

type PropertyTable = { applied: readonly string[]; ignored: Readonly<Record<string, string>> };

/** The queue properties that are SQS attributes of the same name and a plain value. */
export const QUEUE_PLAIN_ATTRIBUTES = [
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

const PREFIXED_NAME =
  'the physical name is <prefix>-<readable logical id>, so runtimes can share an emulator';
const ENCRYPTION = 'the emulator does not encrypt';
const TAGS = 'tags have no local effect';
const CAPACITY = 'tables are always on-demand locally';

/** For each emulated type: properties the runtime applies and properties it ignores, with the reason. */
export const PROPERTY_TABLES: Readonly<Record<EmulatedResourceType, PropertyTable>> = {
  'AWS::DynamoDB::Table': {
    applied: [
      'KeySchema',
      'AttributeDefinitions',
      'GlobalSecondaryIndexes',
      'LocalSecondaryIndexes',
      'StreamSpecification',
      'TimeToLiveSpecification',
    ],
    ignored: {
      TableName: PREFIXED_NAME,
      BillingMode: CAPACITY,
      ProvisionedThroughput: CAPACITY,
      OnDemandThroughput: CAPACITY,
      WarmThroughput: CAPACITY,
      PointInTimeRecoverySpecification: 'no backups locally',
      SSESpecification: ENCRYPTION,
      DeletionProtectionEnabled: 'the emulator is discarded, not the stack',
      ContributorInsightsSpecification: 'no CloudWatch locally',
      TableClass: 'storage class has no local effect',
      Tags: TAGS,
    },
  },
  'AWS::SQS::Queue': {
    applied: [...QUEUE_PLAIN_ATTRIBUTES, 'RedrivePolicy'],
    ignored: {
      QueueName: PREFIXED_NAME,
      KmsMasterKeyId: ENCRYPTION,
      KmsDataKeyReusePeriodSeconds: ENCRYPTION,
      SqsManagedSseEnabled: ENCRYPTION,
      RedriveAllowPolicy: 'a permission on which queues may use this one as DLQ; not evaluated locally',
      Tags: TAGS,
    },
  },
  'AWS::Events::EventBus': {
    applied: [],
    ignored: {
      Name: PREFIXED_NAME,
      Description: 'documentation only',
      KmsKeyIdentifier: ENCRYPTION,
      Tags: TAGS,
    },
  },
  'AWS::Events::Rule': {
    applied: ['EventBusName', 'EventPattern', 'ScheduleExpression', 'State', 'Targets'],
    ignored: {
      Name: PREFIXED_NAME,
      Description: 'documentation only',
      RoleArn: NO_IAM,
    },
  },
  'AWS::S3::Bucket': {
    applied: ['VersioningConfiguration'],
    ignored: {
      BucketName: PREFIXED_NAME,
      BucketEncryption: ENCRYPTION,
      PublicAccessBlockConfiguration: 'no public access locally: the emulator listens on loopback',
      OwnershipControls: 'ACLs are not evaluated by the emulator',
      LifecycleConfiguration: 'nothing lives long enough locally to expire',
      LoggingConfiguration: 'no server access logs locally',
      CorsConfiguration: 'no browser clients locally',
      Tags: TAGS,
    },
  },
  'AWS::Lambda::Function': {
    applied: ['Environment', 'Timeout', 'MemorySize', 'ReservedConcurrentExecutions'],
    ignored: {
      FunctionName: PREFIXED_NAME,
      Code: 'the worker imports the TypeScript entry named by spd:function metadata',
      Handler: 'the worker calls the entry module exported `handler`',
      Runtime: 'the worker runs on the Node of this process',
      Architectures: 'the worker runs on this machine',
      Role: NO_IAM,
      Description: 'documentation only',
      LoggingConfig: 'function output goes to the console',
      TracingConfig: 'no X-Ray locally',
      EphemeralStorage: 'the worker shares this machine',
      Tags: TAGS,
    },
  },
  'AWS::Lambda::EventSourceMapping': {
    applied: [
      'EventSourceArn',
      'FunctionName',
      'Enabled',
      'BatchSize',
      'MaximumBatchingWindowInSeconds',
      'FunctionResponseTypes',
      'FilterCriteria',
      'ScalingConfig',
      'StartingPosition',
      'MaximumRetryAttempts',
      'BisectBatchOnFunctionError',
      'DestinationConfig',
    ],
    ignored: {
      ParallelizationFactor: 'each shard is processed one batch at a time locally',
      MaximumRecordAgeInSeconds: 'local streams hold only fresh records',
      Tags: TAGS,
    },
  },
  'AWS::ApiGateway::RestApi': {
    applied: ['BinaryMediaTypes'],
    ignored: {
      Name: 'the local API has one RestApi',
      Description: 'documentation only',
      EndpointConfiguration: 'the local API listens on loopback',
      Policy: 'resource policies are not evaluated locally',
      DisableExecuteApiEndpoint: 'the local API has one endpoint',
      MinimumCompressionSize: 'responses are not compressed locally',
      ApiKeySourceType: 'API keys are not supported locally',
      Tags: TAGS,
    },
  },
  'AWS::ApiGateway::Resource': {
    applied: ['ParentId', 'PathPart', 'RestApiId'],
    ignored: {},
  },
  'AWS::ApiGateway::Method': {
    applied: ['HttpMethod', 'ResourceId', 'RestApiId', 'AuthorizationType', 'Integration', 'ApiKeyRequired'],
    ignored: {
      MethodResponses: 'proxy integrations return the function response as is',
      OperationName: 'documentation only',
      RequestModels: 'the handler validates bodies itself',
      RequestValidatorId: 'the handler validates requests itself',
      RequestParameters: 'the handler validates requests itself',
    },
  },
};

function isEmulatedType(type: string): type is EmulatedResourceType {
  return Object.hasOwn(EMULATED_RESOURCE_TYPES, type);
}

/**
 * Refuses unknown resource types, conditional resources, and properties of emulated types
 * that are neither applied nor explicitly ignored.
 */
export function checkTemplateCoverage(template: CloudFormationTemplate): void {
  const problems: string[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (resource.Condition !== undefined) {
      problems.push(
        `${logicalId}: conditional resources (Condition ${resource.Condition}) are not supported`,
      );
    }
    if (!isEmulatedType(resource.Type)) {
      if (!Object.hasOwn(NOT_EMULATED_RESOURCE_TYPES, resource.Type)) {
        problems.push(
          `${logicalId}: resource type ${resource.Type} is neither emulated nor listed as not emulated`,
        );
      }
      continue;
    }
    const table = PROPERTY_TABLES[resource.Type];
    for (const property of Object.keys(resource.Properties ?? {})) {
      if (!table.applied.includes(property) && !Object.hasOwn(table.ignored, property)) {
        problems.push(
          `${logicalId}: property ${property} of ${resource.Type} is neither applied nor ignored`,
        );
      }
    }
  }
  if (problems.length > 0)
    throw new TemplateError(`template not supported by the embedded runtime:\n${problems.join('\n')}`);
}

/** The logical ids of one resource type, sorted for a stable order. */
export function logicalIdsOfType(template: CloudFormationTemplate, type: string): string[] {
  return Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === type)
    .map(([logicalId]) => logicalId)
    .sort();
}

/** The resource behind a logical id, which must exist and have one of the expected types. */
export function resourceOf(
  template: CloudFormationTemplate,
  logicalId: string,
  expectedTypes: readonly string[],
  context: string,
): TemplateResource {
  const resource = template.Resources[logicalId];
  if (!resource)
    throw new TemplateError(`${context}: refers to ${logicalId}, which the template does not declare`);
  if (!expectedTypes.includes(resource.Type)) {
    throw new TemplateError(
      `${context}: ${logicalId} is a ${resource.Type}, expected ${expectedTypes.join(' or ')}`,
    );
  }
  return resource;
}

/** Parses the properties of one resource with `schema`; the error names the logical id and path. */
export function parseProperties<Schema extends z.ZodType>(
  schema: Schema,
  logicalId: string,
  properties: unknown,
): z.infer<Schema> {
  const parsed = schema.safeParse(properties ?? {});
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map(
    (issue) => `${[logicalId, ...issue.path].join('.')}: ${issue.message}`,
  );
  throw new TemplateError(`unsupported properties: ${issues.join('; ')}`, { cause: parsed.error });
}
