/**
 * describeWiring: the functions of a synthesized stack and everything that invokes them,
 * read from the template alone (pure). The runtime starts exactly this, and reports what it
 * started in the same shape, so a test can prove local wiring equals the template's.
 */
import { z } from 'zod';
import { TemplateError } from './errors.js';
import { directReference, referencedLogicalIds } from './intrinsics.js';
import {
  type CloudFormationTemplate,
  checkTemplateCoverage,
  logicalIdsOfType,
  parseProperties,
  parseTemplate,
  resourceOf,
} from './template.js';
import type {
  AuthorizationType,
  EventSourceWiring,
  FunctionWiring,
  RouteWiring,
  RuleTargetWiring,
  RuleWiring,
  Wiring,
} from './types.js';

const FUNCTION = 'AWS::Lambda::Function';
const QUEUE = 'AWS::SQS::Queue';
const TABLE = 'AWS::DynamoDB::Table';
const BUS = 'AWS::Events::EventBus';
const REST_API = 'AWS::ApiGateway::RestApi';
const API_RESOURCE = 'AWS::ApiGateway::Resource';
const API_STAGE = 'AWS::ApiGateway::Stage';

/** Lambda's defaults when a property is absent. */
const LAMBDA_DEFAULT_TIMEOUT_SECONDS = 3;
const LAMBDA_DEFAULT_MEMORY_MB = 128;
const SQS_DEFAULT_BATCH_SIZE = 10;
const STREAM_DEFAULT_BATCH_SIZE = 100;

const FUNCTION_METADATA_KEY = 'spd:function';

const FunctionMetadata = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
  entry: z
    .string()
    .regex(/^[^/].*\.(ts|mts|js|mjs)$/, 'must be a .ts or .js path relative to the project root'),
});

const FunctionProperties = z
  .object({
    Environment: z.object({ Variables: z.record(z.string(), z.unknown()).optional() }).optional(),
    Timeout: z.number().int().positive().optional(),
    MemorySize: z.number().int().positive().optional(),
    ReservedConcurrentExecutions: z.number().int().min(0).optional(),
  })
  .loose();

const EventSourceMappingProperties = z
  .object({
    EventSourceArn: z.unknown(),
    FunctionName: z.unknown(),
    Enabled: z.boolean().default(true),
    BatchSize: z.number().int().positive().optional(),
    MaximumBatchingWindowInSeconds: z.number().int().min(0).max(300).default(0),
    FunctionResponseTypes: z.array(z.literal('ReportBatchItemFailures')).default([]),
    FilterCriteria: z.object({ Filters: z.array(z.object({ Pattern: z.string() })).default([]) }).optional(),
    ScalingConfig: z
      .object({ MaximumConcurrency: z.number().int().min(2).optional() })
      .strict()
      .optional(),
    StartingPosition: z.enum(['TRIM_HORIZON', 'LATEST']).optional(),
    MaximumRetryAttempts: z.number().int().min(-1).optional(),
    BisectBatchOnFunctionError: z.boolean().default(false),
    DestinationConfig: z
      .object({ OnFailure: z.object({ Destination: z.unknown() }).strict() })
      .strict()
      .optional(),
  })
  .loose();

const RuleTarget = z
  .object({
    Arn: z.unknown(),
    Id: z.string(),
    Input: z.string().optional(),
    SqsParameters: z.object({ MessageGroupId: z.string() }).strict().optional(),
    RetryPolicy: z.unknown().optional(),
    DeadLetterConfig: z.unknown().optional(),
    RoleArn: z.unknown().optional(),
  })
  .strict();

const RuleProperties = z
  .object({
    EventBusName: z.unknown().optional(),
    EventPattern: z.record(z.string(), z.unknown()).optional(),
    ScheduleExpression: z.string().optional(),
    State: z.enum(['ENABLED', 'DISABLED']).default('ENABLED'),
    Targets: z.array(RuleTarget).default([]),
  })
  .loose();

const MethodProperties = z
  .object({
    HttpMethod: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'ANY']),
    ResourceId: z.unknown(),
    RestApiId: z.unknown(),
    AuthorizationType: z.enum(['AWS_IAM', 'NONE']).default('NONE'),
    ApiKeyRequired: z.literal(false).optional(),
    Integration: z
      .object({ Type: z.literal('AWS_PROXY'), IntegrationHttpMethod: z.literal('POST'), Uri: z.unknown() })
      .loose(),
  })
  .loose();

const ApiResourceProperties = z.object({
  ParentId: z.unknown(),
  PathPart: z.string().min(1),
  RestApiId: z.unknown(),
});

const RestApiProperties = z.object({ BinaryMediaTypes: z.array(z.string()).default([]) }).loose();

const StageProperties = z.object({ StageName: z.string().min(1), RestApiId: z.unknown() }).loose();

/** The logical id a property must point at directly, checked against the expected types. */
function referencedResource(
  template: CloudFormationTemplate,
  value: unknown,
  expected: { types: readonly string[]; attributes: ReadonlyArray<string | null> },
  context: string,
): string {
  const reference = directReference(value);
  if (!reference || !expected.attributes.includes(reference.attribute)) {
    const forms = expected.attributes.map((attribute) =>
      attribute === null ? 'Ref' : `Fn::GetAtt ${attribute}`,
    );
    throw new TemplateError(
      `${context}: must be ${forms.join(' or ')} of a ${expected.types.join('/')} in the template`,
    );
  }
  resourceOf(template, reference.logicalId, expected.types, context);
  return reference.logicalId;
}

/** The functions the runtime runs: those carrying `spd:function` metadata. */
function runnableFunctionIds(template: CloudFormationTemplate): Set<string> {
  return new Set(
    logicalIdsOfType(template, FUNCTION).filter(
      (logicalId) => template.Resources[logicalId]?.Metadata?.[FUNCTION_METADATA_KEY] !== undefined,
    ),
  );
}

function requireRunnable(template: CloudFormationTemplate, logicalId: string, context: string): string {
  if (!runnableFunctionIds(template).has(logicalId)) {
    throw new TemplateError(
      `${context}: function ${logicalId} has no ${FUNCTION_METADATA_KEY} metadata, so it cannot run locally`,
    );
  }
  return logicalId;
}

function describeFunction(template: CloudFormationTemplate, logicalId: string): FunctionWiring {
  const resource = template.Resources[logicalId];
  const metadata = parseProperties(
    FunctionMetadata,
    `${logicalId}.Metadata.${FUNCTION_METADATA_KEY}`,
    resource?.Metadata?.[FUNCTION_METADATA_KEY],
  );
  const properties = parseProperties(FunctionProperties, logicalId, resource?.Properties);
  return {
    logicalId,
    name: metadata.name,
    entry: metadata.entry,
    timeoutSeconds: properties.Timeout ?? LAMBDA_DEFAULT_TIMEOUT_SECONDS,
    memoryMb: properties.MemorySize ?? LAMBDA_DEFAULT_MEMORY_MB,
    reservedConcurrency: properties.ReservedConcurrentExecutions ?? null,
    environment: Object.keys(properties.Environment?.Variables ?? {}).sort(),
  };
}

function canonicalPattern(pattern: string, context: string): string {
  try {
    return JSON.stringify(JSON.parse(pattern));
  } catch (error) {
    throw new TemplateError(`${context}: filter pattern is not JSON: ${pattern}`, { cause: error });
  }
}

function describeEventSource(template: CloudFormationTemplate, logicalId: string): EventSourceWiring {
  const properties = parseProperties(
    EventSourceMappingProperties,
    logicalId,
    template.Resources[logicalId]?.Properties,
  );
  const functionId = requireRunnable(
    template,
    referencedResource(
      template,
      properties.FunctionName,
      { types: [FUNCTION], attributes: [null, 'Arn'] },
      `${logicalId}.FunctionName`,
    ),
    `${logicalId}.FunctionName`,
  );
  const source = referencedResource(
    template,
    properties.EventSourceArn,
    { types: [QUEUE, TABLE], attributes: ['Arn', 'StreamArn'] },
    `${logicalId}.EventSourceArn`,
  );
  const common = {
    logicalId,
    function: functionId,
    enabled: properties.Enabled,
    maximumBatchingWindowInSeconds: properties.MaximumBatchingWindowInSeconds,
    reportBatchItemFailures: properties.FunctionResponseTypes.includes('ReportBatchItemFailures'),
    filters: (properties.FilterCriteria?.Filters ?? []).map((filter, index) =>
      canonicalPattern(filter.Pattern, `${logicalId}.FilterCriteria.Filters[${index}]`),
    ),
  };
  if (template.Resources[source]?.Type === QUEUE) {
    const streamOnly = ['StartingPosition', 'MaximumRetryAttempts', 'DestinationConfig'] as const;
    const misplaced = streamOnly.filter((name) => properties[name] !== undefined);
    if (misplaced.length > 0 || properties.BisectBatchOnFunctionError) {
      throw new TemplateError(
        `${logicalId}: ${[...misplaced, 'BisectBatchOnFunctionError'].join(', ')} do not apply to SQS sources`,
      );
    }
    return {
      ...common,
      kind: 'sqs',
      queue: source,
      batchSize: properties.BatchSize ?? SQS_DEFAULT_BATCH_SIZE,
      maximumConcurrency: properties.ScalingConfig?.MaximumConcurrency ?? null,
    };
  }
  if (properties.StartingPosition === undefined)
    throw new TemplateError(`${logicalId}: StartingPosition is required for a stream source`);
  if (properties.ScalingConfig !== undefined)
    throw new TemplateError(`${logicalId}: ScalingConfig applies to SQS sources only`);
  const onFailure = properties.DestinationConfig?.OnFailure.Destination;
  return {
    ...common,
    kind: 'dynamodb-stream',
    table: source,
    batchSize: properties.BatchSize ?? STREAM_DEFAULT_BATCH_SIZE,
    startingPosition: properties.StartingPosition,
    maximumRetryAttempts: properties.MaximumRetryAttempts ?? -1,
    bisectBatchOnFunctionError: properties.BisectBatchOnFunctionError,
    onFailureQueue:
      onFailure === undefined
        ? null
        : referencedResource(
            template,
            onFailure,
            { types: [QUEUE], attributes: ['Arn'] },
            `${logicalId}.DestinationConfig.OnFailure`,
          ),
  };
}

function describeRuleTarget(
  template: CloudFormationTemplate,
  target: z.infer<typeof RuleTarget>,
  context: string,
): RuleTargetWiring {
  const logicalId = referencedResource(
    template,
    target.Arn,
    { types: [QUEUE, FUNCTION], attributes: ['Arn'] },
    `${context}.Arn`,
  );
  const isQueue = template.Resources[logicalId]?.Type === QUEUE;
  if (!isQueue) requireRunnable(template, logicalId, `${context}.Arn`);
  return {
    id: target.Id,
    kind: isQueue ? 'sqs' : 'lambda',
    logicalId,
    input: target.Input ?? null,
    messageGroupId: target.SqsParameters?.MessageGroupId ?? null,
  };
}

function describeRule(template: CloudFormationTemplate, logicalId: string): RuleWiring {
  const properties = parseProperties(RuleProperties, logicalId, template.Resources[logicalId]?.Properties);
  const targets = properties.Targets.map((target, index) =>
    describeRuleTarget(template, target, `${logicalId}.Targets[${index}]`),
  );
  let bus: string | null = null;
  if (properties.EventBusName !== undefined && properties.EventBusName !== 'default') {
    bus = referencedResource(
      template,
      properties.EventBusName,
      { types: [BUS], attributes: [null, 'Name'] },
      `${logicalId}.EventBusName`,
    );
  }
  const enabled = properties.State === 'ENABLED';
  if (properties.EventPattern !== undefined && properties.ScheduleExpression === undefined) {
    const unroutable = targets.filter((target) => target.kind !== 'sqs' || target.input !== null);
    if (unroutable.length > 0) {
      throw new TemplateError(
        `${logicalId}: targets ${unroutable.map((target) => target.id).join(', ')} of an event-pattern rule must be SQS queues without Input (the emulator routes only those)`,
      );
    }
    return {
      logicalId,
      bus,
      enabled,
      trigger: { kind: 'pattern', pattern: properties.EventPattern },
      targets,
    };
  }
  if (properties.ScheduleExpression !== undefined && properties.EventPattern === undefined) {
    if (bus !== null) throw new TemplateError(`${logicalId}: schedule rules run on the default bus`);
    return {
      logicalId,
      bus,
      enabled,
      trigger: { kind: 'schedule', expression: properties.ScheduleExpression },
      targets,
    };
  }
  throw new TemplateError(`${logicalId}: a rule needs exactly one of EventPattern and ScheduleExpression`);
}

/** The one RestApi of the template, if any: the local API serves one. */
function restApiId(template: CloudFormationTemplate): string | null {
  const apis = logicalIdsOfType(template, REST_API);
  if (apis.length > 1)
    throw new TemplateError(`the local API serves one RestApi; the template declares ${apis.join(', ')}`);
  return apis[0] ?? null;
}

export interface ApiDescription {
  restApi: string;
  /** The path prefix of the deployed stage, e.g. "prod"; null when the template deploys none. */
  stageName: string | null;
  binaryMediaTypes: string[];
}

export function describeApi(template: CloudFormationTemplate): ApiDescription | null {
  const restApi = restApiId(template);
  if (restApi === null) return null;
  const stages = logicalIdsOfType(template, API_STAGE).map((logicalId) =>
    parseProperties(StageProperties, logicalId, template.Resources[logicalId]?.Properties),
  );
  if (stages.length > 1)
    throw new TemplateError(
      `the local API serves one stage; the template declares ${stages.map((stage) => stage.StageName).join(', ')}`,
    );
  const properties = parseProperties(RestApiProperties, restApi, template.Resources[restApi]?.Properties);
  return { restApi, stageName: stages[0]?.StageName ?? null, binaryMediaTypes: properties.BinaryMediaTypes };
}

/** The full path of an API resource (or the root), built by walking its parents. */
function resourcePath(
  template: CloudFormationTemplate,
  restApi: string,
  resourceId: unknown,
  context: string,
): string {
  const segments: string[] = [];
  let current = resourceId;
  const seen = new Set<string>();
  for (;;) {
    const reference = directReference(current);
    if (reference?.logicalId === restApi && reference.attribute === 'RootResourceId') break;
    const logicalId = referencedResource(
      template,
      current,
      { types: [API_RESOURCE], attributes: [null] },
      context,
    );
    if (seen.has(logicalId))
      throw new TemplateError(`${context}: API resource ${logicalId} is its own ancestor`);
    seen.add(logicalId);
    const properties = parseProperties(
      ApiResourceProperties,
      logicalId,
      template.Resources[logicalId]?.Properties,
    );
    segments.unshift(properties.PathPart);
    current = properties.ParentId;
  }
  return `/${segments.join('/')}`;
}

function describeRoute(template: CloudFormationTemplate, restApi: string, logicalId: string): RouteWiring {
  const properties = parseProperties(MethodProperties, logicalId, template.Resources[logicalId]?.Properties);
  referencedResource(
    template,
    properties.RestApiId,
    { types: [REST_API], attributes: [null] },
    `${logicalId}.RestApiId`,
  );
  const functions = [...referencedLogicalIds(properties.Integration.Uri)].filter(
    (id) => template.Resources[id]?.Type === FUNCTION,
  );
  if (functions.length !== 1) {
    throw new TemplateError(`${logicalId}.Integration.Uri: must invoke exactly one function of the template`);
  }
  const authorization: AuthorizationType = properties.AuthorizationType;
  return {
    method: properties.HttpMethod,
    path: resourcePath(template, restApi, properties.ResourceId, `${logicalId}.ResourceId`),
    function: requireRunnable(template, functions[0] ?? '', `${logicalId}.Integration`),
    authorization,
  };
}

function byLogicalId<T extends { logicalId: string }>(a: T, b: T): number {
  return a.logicalId.localeCompare(b.logicalId);
}

/** Reads the normalized wiring of a synthesized template; refuses what the runtime cannot run. */
export function describeWiring(input: unknown): Wiring {
  const template = parseTemplate(input);
  checkTemplateCoverage(template);
  const functions = [...runnableFunctionIds(template)].map((logicalId) =>
    describeFunction(template, logicalId),
  );
  const names = new Map<string, string>();
  for (const fn of functions) {
    const other = names.get(fn.name);
    if (other !== undefined)
      throw new TemplateError(`functions ${other} and ${fn.logicalId} share the name ${fn.name}`);
    names.set(fn.name, fn.logicalId);
  }
  const api = restApiId(template);
  const routes =
    api === null
      ? []
      : logicalIdsOfType(template, 'AWS::ApiGateway::Method').map((logicalId) =>
          describeRoute(template, api, logicalId),
        );
  const seenRoutes = new Set<string>();
  for (const route of routes) {
    const key = `${route.method} ${route.path}`;
    if (seenRoutes.has(key)) throw new TemplateError(`route ${key} is declared twice`);
    seenRoutes.add(key);
  }
  return {
    functions: functions.sort(byLogicalId),
    eventSources: logicalIdsOfType(template, 'AWS::Lambda::EventSourceMapping')
      .map((logicalId) => describeEventSource(template, logicalId))
      .sort(byLogicalId),
    rules: logicalIdsOfType(template, 'AWS::Events::Rule')
      .map((logicalId) => describeRule(template, logicalId))
      .sort(byLogicalId),
    routes: routes.sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method)),
  };
}
