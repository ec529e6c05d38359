import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../../events/routes.js';
import { TABLE_SPECS } from '../../shared/repositories/tables.js';
import { compileFilterCriteria } from '../local/index.js';
import { FUNCTION_METADATA_KEY } from './wms-function.js';
import { WmsStack } from './wms-stack.js';

type Resource = { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> };

let template: Template;
let resources: Record<string, Resource>;

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
/** The logical id of the resource an event source mapping reads (a queue, a table's stream). */
const sourceOf = (mapping: Resource) =>
  (mapping.Properties?.EventSourceArn as { 'Fn::GetAtt'?: [string, string] } | undefined)?.[
    'Fn::GetAtt'
  ]?.[0] ?? '';
/** The logical id of the function an event source mapping invokes. */
const functionOf = (mapping: Resource) =>
  (mapping.Properties?.FunctionName as { Ref?: string } | undefined)?.Ref ?? '';

beforeAll(() => {
  const app = new App();
  const stack = new WmsStack(app, 'TestWms', { env: { account: '123456789012', region: 'eu-west-1' } });
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources;
}, 120_000);

describe('WmsStack', () => {
  it('turns streams on for the tables that drive functions, with old and new images', () => {
    const withStreams = Object.values(TABLE_SPECS).filter((spec) => 'stream' in spec);
    expect(withStreams.map((s) => s.logicalName).sort()).toEqual(['Jobs', 'Pilots', 'Tasks']);
    template.resourceCountIs('AWS::DynamoDB::Table', Object.keys(TABLE_SPECS).length);
    const streamTables = ofType('AWS::DynamoDB::Table').filter(([, r]) => r.Properties?.StreamSpecification);
    expect(streamTables).toHaveLength(3);
    for (const [, table] of streamTables) {
      expect(table.Properties?.StreamSpecification).toEqual({ StreamViewType: 'NEW_AND_OLD_IMAGES' });
    }
  });

  it('gives every queue a dead-letter queue, and every dead-letter queue an alarm', () => {
    const queues = ofType('AWS::SQS::Queue');
    const deadLetterIds = new Set<string>();
    for (const [, queue] of queues) {
      const redrive = queue.Properties?.RedrivePolicy as
        | { deadLetterTargetArn: { 'Fn::GetAtt': [string] } }
        | undefined;
      if (redrive) deadLetterIds.add(redrive.deadLetterTargetArn['Fn::GetAtt'][0]);
    }
    // Pilot control queues are created at run time with this DLQ in their redrive policy.
    for (const [id] of queues) if (id.startsWith('PilotControlDeadLetter')) deadLetterIds.add(id);
    const sources = queues.filter(([id]) => !deadLetterIds.has(id));
    expect(sources.length).toBeGreaterThanOrEqual(9);
    for (const [id, queue] of sources) {
      expect(queue.Properties?.RedrivePolicy, `${id} has a DLQ`).toBeDefined();
    }
    const alarmedQueues = ofType('AWS::CloudWatch::Alarm')
      .map(
        ([, alarm]) =>
          alarm.Properties?.Dimensions as { Name: string; Value: { 'Fn::GetAtt': [string] } }[] | undefined,
      )
      .flatMap((dimensions) => dimensions ?? [])
      .filter((d) => d.Name === 'QueueName')
      .map((d) => d.Value['Fn::GetAtt'][0]);
    for (const id of deadLetterIds) expect(alarmedQueues, `${id} has an alarm`).toContain(id);
  });

  it('reports batch item failures on every event source mapping', () => {
    const mappings = ofType('AWS::Lambda::EventSourceMapping');
    expect(mappings.length).toBeGreaterThanOrEqual(10);
    for (const [id, mapping] of mappings) {
      expect(mapping.Properties?.FunctionResponseTypes, id).toEqual(['ReportBatchItemFailures']);
    }
  });

  it('applies pilot results as they arrive: the status queue mapping has no batching window', () => {
    const mappings = ofType('AWS::Lambda::EventSourceMapping').filter(([, r]) =>
      JSON.stringify(r.Properties?.EventSourceArn).includes('"Status'),
    );
    expect(mappings).toHaveLength(1);
    const [id, mapping] = mappings[0]!;
    expect(mapping.Properties?.BatchSize, id).toBe(10);
    expect(mapping.Properties?.MaximumBatchingWindowInSeconds ?? 0, id).toBe(0);
  });

  it("hides every SQS message from other consumers for at least its function's whole timeout", () => {
    const sqsMappings = ofType('AWS::Lambda::EventSourceMapping').filter(
      ([, mapping]) => resources[sourceOf(mapping)]?.Type === 'AWS::SQS::Queue',
    );
    expect(sqsMappings.length).toBeGreaterThanOrEqual(6);
    for (const [id, mapping] of sqsMappings) {
      const queueId = sourceOf(mapping);
      const functionId = functionOf(mapping);
      const visibility = resources[queueId]?.Properties?.VisibilityTimeout as number;
      const timeout = resources[functionId]?.Properties?.Timeout as number;
      expect(visibility, `${id}: ${queueId} against ${functionId}`).toBeGreaterThanOrEqual(timeout);
    }
  });

  it('gives each dataset close an invocation of five minutes, the time a close of millions of names takes', () => {
    const [closeMapping, ...others] = ofType('AWS::Lambda::EventSourceMapping').filter(([, mapping]) =>
      sourceOf(mapping).startsWith('DatasetClose'),
    );
    expect(others).toEqual([]);
    const [, mapping] = closeMapping!;
    expect(mapping.Properties?.BatchSize).toBe(1);
    expect(resources[functionOf(mapping)]?.Properties?.Timeout).toBe(300);
  });

  it("gives the task stream's consumer five minutes, since a task's end closes its datasets", () => {
    const tasksMappings = ofType('AWS::Lambda::EventSourceMapping').filter(([, mapping]) =>
      sourceOf(mapping).startsWith('TasksTable'),
    );
    expect(tasksMappings).toHaveLength(1);
    const [[, mapping]] = tasksMappings as [[string, Resource]];
    expect(functionOf(mapping)).toMatch(/^TaskLifecycle/);
    expect(resources[functionOf(mapping)]?.Properties?.Timeout).toBe(300);
  });

  it("wakes the dispatcher for a job that frees a slot, not for an archived job's TTL", () => {
    const [[id, mapping]] = ofType('AWS::Lambda::EventSourceMapping').filter(
      ([, r]) =>
        JSON.stringify(r.Properties?.EventSourceArn).includes('JobsTable') &&
        JSON.stringify(r.Properties?.FunctionName).includes('Dispatcher'),
    ) as [[string, Resource]];
    const filters = (mapping.Properties!.FilterCriteria as { Filters: { Pattern: string }[] }).Filters;
    const matches = compileFilterCriteria(filters.map((filter) => filter.Pattern));
    const image = (extra: Record<string, unknown>) => ({
      eventName: 'MODIFY',
      dynamodb: { NewImage: { state: { S: 'DONE' }, ...extra } },
    });

    expect(matches(image({})), id).toBe(true);
    expect(matches(image({ expiresAt: { N: '1764064800' } })), id).toBe(false);
  });

  it('runs every function on Node 24 with its handler module named in metadata', () => {
    const functions = ofType('AWS::Lambda::Function').filter(([, r]) => r.Metadata?.[FUNCTION_METADATA_KEY]);
    expect(functions).toHaveLength(11);
    for (const [id, fn] of functions) {
      expect(fn.Properties?.Runtime, id).toBe('nodejs24.x');
      expect(fn.Properties?.Architectures, id).toEqual(['arm64']);
    }
  });

  it('protects every API method with IAM authorization and serves every route', () => {
    const methods = ofType('AWS::ApiGateway::Method').filter(
      ([, r]) => r.Properties?.HttpMethod !== 'OPTIONS',
    );
    expect(methods).toHaveLength(ROUTES.length);
    for (const [id, method] of methods) expect(method.Properties?.AuthorizationType, id).toBe('AWS_IAM');
  });

  it('grants the pilot no wildcard action or resource and nothing beyond its job', () => {
    const [, pilotPolicy] = ofType('AWS::IAM::ManagedPolicy').find(([id]) => id.startsWith('PilotPolicy'))!;
    const document = pilotPolicy.Properties!.PolicyDocument as { Statement: Record<string, unknown>[] };
    const statements = document.Statement;
    const actions = statements.flatMap((s) => [s.Action].flat() as string[]);
    expect(actions).not.toContain('*');
    for (const action of actions) expect(action).not.toMatch(/:\*$/);
    expect(new Set(actions)).toEqual(
      new Set([
        'sqs:ReceiveMessage',
        'sqs:DeleteMessage',
        'sqs:ChangeMessageVisibility',
        'sqs:GetQueueAttributes',
        'sqs:SendMessage',
        'execute-api:Invoke',
        's3:GetObject',
        's3:PutObject',
        's3:AbortMultipartUpload',
        's3:ListMultipartUploadParts',
      ]),
    );
    for (const statement of statements) {
      for (const resource of [statement.Resource].flat()) expect(resource).not.toBe('*');
    }
    const invoke = statements.find((s) => s.Sid === 'PilotRoutes')!;
    const pilotRoutes = ROUTES.filter((r) => r.callers.includes('pilot'));
    expect([invoke.Resource].flat()).toHaveLength(pilotRoutes.length);
  });

  it('lets pilots write only the WMS datasets, read inputs, outputs and releases, and only operators publish releases', () => {
    const policy = (prefix: string) => {
      const [, found] = ofType('AWS::IAM::ManagedPolicy').find(([id]) => id.startsWith(prefix))!;
      return (found.Properties!.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement;
    };
    // An object ARN of the data bucket renders as Fn::Join of the bucket ARN and "/<key pattern>".
    const keyPatterns = (statement: Record<string, unknown> | undefined) =>
      [statement?.Resource].flat().map((resource) => {
        const [, parts] = (resource as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
        return String(parts.at(-1));
      });
    const s3Statements = (statements: Record<string, unknown>[], action: string) =>
      statements.filter((s) => [s.Action].flat().includes(action));

    const pilot = policy('PilotPolicy');
    const operator = policy('OperatorPolicy');

    expect(s3Statements(pilot, 's3:PutObject').flatMap(keyPatterns)).toEqual(['/outputs/*']);
    expect(s3Statements(pilot, 's3:GetObject').flatMap(keyPatterns).sort()).toEqual(
      ['/datasets/*', '/outputs/*', '/pilot/releases/*'].sort(),
    );
    expect(s3Statements(operator, 's3:PutObject').flatMap(keyPatterns)).toEqual(['/pilot/releases/*']);
    for (const [id, other] of ofType('AWS::IAM::ManagedPolicy')) {
      if (id.startsWith('OperatorPolicy')) continue;
      const statements = (other.Properties!.PolicyDocument as { Statement: Record<string, unknown>[] })
        .Statement;
      const written = s3Statements(statements, 's3:PutObject').flatMap(keyPatterns);
      expect(written, id).not.toContain('/pilot/releases/*');
    }
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'wms-status', DATA_BUCKET: Match.anyValue() }),
      },
    });
  });

  it('routes every inbound detail type to a queue and schedules the dispatcher and the watchdog', () => {
    const rules = ofType('AWS::Events::Rule');
    const patterns = rules.map(([, r]) => r.Properties?.EventPattern).filter(Boolean);
    const routed = patterns.flatMap((p) => (p as { 'detail-type': string[] })['detail-type']);
    expect(routed.sort()).toEqual(
      [
        'dataset.close',
        'dataset.delete',
        'dataset.upload',
        'file.input',
        'task.cancel',
        'task.priority',
        'task.submitted',
      ].sort(),
    );
    template.resourcePropertiesCountIs('AWS::Events::Rule', { ScheduleExpression: 'rate(1 minute)' }, 2);
    template.hasResourceProperties('AWS::Lambda::Function', {
      ReservedConcurrentExecutions: 1,
      Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'wms-dispatcher' }) },
    });
  });
});
