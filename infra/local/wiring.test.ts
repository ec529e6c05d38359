import { beforeAll, describe, expect, it } from 'vitest';
import { TemplateError } from './errors.js';
import { API_STAGE, synthesizeFixtureStack } from './test-fixtures/stack.js';
import type { Wiring } from './types.js';
import { describeApi, describeWiring } from './wiring.js';

type Resources = Record<
  string,
  { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> }
>;

const FUNCTION = {
  Type: 'AWS::Lambda::Function',
  Properties: { Handler: 'index.handler', Runtime: 'nodejs22.x', Code: { ZipFile: 'x' } },
  Metadata: { 'spd:function': { name: 'worker', entry: 'functions/worker/index.ts' } },
};
const QUEUE = { Type: 'AWS::SQS::Queue', Properties: {} };

function templateOf(resources: Resources) {
  return { Resources: { Worker: FUNCTION, Queue: QUEUE, ...resources } };
}

describe('describeWiring of the fixture stack', () => {
  let wiring: Wiring;
  let template: Record<string, unknown>;

  // CDK synthesis takes seconds, more on a loaded machine.
  beforeAll(() => {
    template = synthesizeFixtureStack();
    wiring = describeWiring(template);
  }, 60_000);

  it('lists the functions carrying spd:function metadata with their settings', () => {
    expect(
      wiring.functions.map((fn) => [fn.name, fn.entry, fn.timeoutSeconds, fn.reservedConcurrency]),
    ).toEqual([
      ['api', 'infra/local/test-fixtures/api.ts', 5, null],
      ['queue-consumer', 'infra/local/test-fixtures/queue-consumer.ts', 2, 2],
      ['scheduled', 'infra/local/test-fixtures/scheduled.ts', 5, null],
      ['stream-consumer', 'infra/local/test-fixtures/stream-consumer.ts', 5, null],
    ]);
    expect(wiring.functions[0]?.environment).toEqual([
      'BUS_ARN',
      'DATA_BUCKET',
      'FIXTURE_ROLE',
      'OBSERVATIONS_TABLE',
      'RECORDS_INDEX_ARN',
      'WORK_QUEUE_URL',
    ]);
  });

  it('normalizes the event source mappings with Lambda defaults filled in', () => {
    const [events, failures, work, stream] = wiring.eventSources;

    expect(events).toMatchObject({
      kind: 'sqs',
      batchSize: 5,
      maximumBatchingWindowInSeconds: 0,
      reportBatchItemFailures: false,
      maximumConcurrency: 2,
    });
    expect(failures).toMatchObject({ kind: 'sqs', enabled: false, batchSize: 10 });
    expect(work).toMatchObject({
      kind: 'sqs',
      enabled: true,
      batchSize: 10,
      maximumBatchingWindowInSeconds: 1,
      reportBatchItemFailures: true,
      maximumConcurrency: null,
    });
    expect(stream).toMatchObject({
      kind: 'dynamodb-stream',
      batchSize: 10,
      startingPosition: 'TRIM_HORIZON',
      maximumRetryAttempts: 1,
      bisectBatchOnFunctionError: true,
      reportBatchItemFailures: true,
      filters: ['{"eventName":["INSERT"],"dynamodb":{"NewImage":{"kind":{"S":[{"prefix":"keep"}]}}}}'],
    });
    expect(stream?.kind === 'dynamodb-stream' && stream.onFailureQueue).toMatch(/^StreamFailures/);
  });

  it('separates the schedule from the event-pattern rule and resolves their targets', () => {
    expect(wiring.rules.map((rule) => [rule.trigger, rule.targets.map((target) => target.kind)])).toEqual([
      [{ kind: 'schedule', expression: 'rate(1 minute)' }, ['lambda']],
      [{ kind: 'pattern', pattern: { source: ['spd.test'], 'detail-type': ['sample.created'] } }, ['sqs']],
    ]);
    expect(wiring.rules[1]?.bus).toMatch(/^Bus/);
  });

  it('builds full route paths from the resource tree', () => {
    expect(wiring.routes.map((route) => `${route.method} ${route.path} ${route.authorization}`)).toEqual([
      'POST /items AWS_IAM',
      'GET /items/{itemId} AWS_IAM',
    ]);
    expect(describeApi(template as never)).toMatchObject({ stageName: API_STAGE, binaryMediaTypes: [] });
  });
});

describe('describeWiring refuses what the runtime cannot run', () => {
  it.each([
    [
      'an unknown resource type',
      { Cache: { Type: 'AWS::ElastiCache::CacheCluster', Properties: {} } },
      /neither emulated nor listed/,
    ],
    [
      'an unknown property of an emulated type',
      { Other: { Type: 'AWS::SQS::Queue', Properties: { Shiny: true } } },
      /property Shiny/,
    ],
    [
      'an event-pattern rule with a function target',
      {
        Rule: {
          Type: 'AWS::Events::Rule',
          Properties: {
            EventPattern: { source: ['x'] },
            Targets: [{ Id: 'T', Arn: { 'Fn::GetAtt': ['Worker', 'Arn'] } }],
          },
        },
      },
      /must be SQS queues/,
    ],
    [
      'a rule with both a pattern and a schedule',
      {
        Rule: {
          Type: 'AWS::Events::Rule',
          Properties: { EventPattern: { source: ['x'] }, ScheduleExpression: 'rate(1 minute)' },
        },
      },
      /exactly one of EventPattern and ScheduleExpression/,
    ],
    [
      'a mapping to a function without spd:function metadata',
      {
        Plain: { Type: 'AWS::Lambda::Function', Properties: {} },
        Mapping: {
          Type: 'AWS::Lambda::EventSourceMapping',
          Properties: { FunctionName: { Ref: 'Plain' }, EventSourceArn: { 'Fn::GetAtt': ['Queue', 'Arn'] } },
        },
      },
      /no spd:function metadata/,
    ],
    [
      'a mapping to a source outside the template',
      {
        Mapping: {
          Type: 'AWS::Lambda::EventSourceMapping',
          Properties: {
            FunctionName: { Ref: 'Worker' },
            EventSourceArn: 'arn:aws:sqs:eu-north-1:123456789012:elsewhere',
          },
        },
      },
      /EventSourceArn: must be Fn::GetAtt/,
    ],
    [
      'a stream mapping without a starting position',
      {
        Table: { Type: 'AWS::DynamoDB::Table', Properties: {} },
        Mapping: {
          Type: 'AWS::Lambda::EventSourceMapping',
          Properties: {
            FunctionName: { Ref: 'Worker' },
            EventSourceArn: { 'Fn::GetAtt': ['Table', 'StreamArn'] },
          },
        },
      },
      /StartingPosition is required/,
    ],
    [
      'a tumbling window',
      {
        Mapping: {
          Type: 'AWS::Lambda::EventSourceMapping',
          Properties: {
            FunctionName: { Ref: 'Worker' },
            EventSourceArn: { 'Fn::GetAtt': ['Queue', 'Arn'] },
            TumblingWindowInSeconds: 60,
          },
        },
      },
      /property TumblingWindowInSeconds/,
    ],
    [
      'a method with a mock integration',
      {
        Api: { Type: 'AWS::ApiGateway::RestApi', Properties: {} },
        Options: {
          Type: 'AWS::ApiGateway::Method',
          Properties: {
            HttpMethod: 'OPTIONS',
            RestApiId: { Ref: 'Api' },
            ResourceId: { 'Fn::GetAtt': ['Api', 'RootResourceId'] },
            Integration: { Type: 'MOCK' },
          },
        },
      },
      /Integration/,
    ],
    [
      'two REST APIs',
      { One: { Type: 'AWS::ApiGateway::RestApi' }, Two: { Type: 'AWS::ApiGateway::RestApi' } },
      /one RestApi/,
    ],
    ['a conditional resource', { Maybe: { ...QUEUE, Condition: 'IsProd' } }, /conditional resources/],
  ])('%s', (_label, resources, message) => {
    expect(() => describeWiring(templateOf(resources as Resources))).toThrow(TemplateError);
    expect(() => describeWiring(templateOf(resources as Resources))).toThrow(message);
  });

  it('refuses something that is not a template', () => {
    expect(() => describeWiring({ Resources: [] })).toThrow(/not a CloudFormation template/);
  });
});
