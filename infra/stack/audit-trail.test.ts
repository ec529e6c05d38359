import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { WmsStack } from './wms-stack.js';

type Resource = { Type: string; Properties: Record<string, unknown> };

function synth(props: ConstructorParameters<typeof WmsStack>[2]): Template {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  return Template.fromStack(new WmsStack(app, 'AuditWms', props));
}

let template: Template;
let resources: Record<string, Resource>;
const idOf = (type: string, prefix: string) =>
  Object.entries(resources).find(([id, r]) => r.Type === type && id.startsWith(prefix))?.[0];

beforeAll(() => {
  template = synth({ env: { account: '123456789012', region: 'eu-west-1' } });
  resources = template.toJSON().Resources;
}, 120_000);

describe('the data bucket', () => {
  it('keeps every version and logs every access into a bucket of its own', () => {
    const logBucket = idOf('AWS::S3::Bucket', 'AccessLogs');
    expect(logBucket).toBeDefined();
    const data = resources[idOf('AWS::S3::Bucket', 'Data')!]!;
    expect(data.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(data.Properties.LoggingConfiguration).toEqual({
      DestinationBucketName: { Ref: logBucket },
      LogFilePrefix: 'data-bucket/',
    });
  });

  it('lets only the S3 logging service write the logs, and only for the data bucket', () => {
    const logBucket = idOf('AWS::S3::Bucket', 'AccessLogs')!;
    const dataBucket = idOf('AWS::S3::Bucket', 'Data')!;
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: logBucket },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'logging.s3.amazonaws.com' },
            Action: 's3:PutObject',
            Condition: {
              ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [dataBucket, 'Arn'] } },
              StringEquals: { 'aws:SourceAccount': '123456789012' },
            },
          }),
        ]),
      },
    });
    const logs = resources[logBucket]!.Properties;
    expect(logs.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
    expect(logs.LifecycleConfiguration).toEqual({ Rules: [{ ExpirationInDays: 365, Status: 'Enabled' }] });
  });

  it('drops the parts of a task export whose upload never completed after a day', () => {
    const dataBucket = idOf('AWS::S3::Bucket', 'Data')!;
    const lifecycle = resources[dataBucket]!.Properties.LifecycleConfiguration as { Rules: unknown[] };
    expect(lifecycle.Rules).toContainEqual({
      AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
      Prefix: 'archive/',
      Status: 'Enabled',
    });
  });

  it('is not created for an external store, whose versioning and logs its owner turns on', () => {
    const external = synth({ externalBucketName: 'site-store' });
    external.resourceCountIs('AWS::S3::Bucket', 0);
  });
});

describe('the API stage', () => {
  it('writes one JSON access log line per request with caller, route, status and latency', () => {
    const stage = Object.values(resources).find((r) => r.Type === 'AWS::ApiGateway::Stage')!;
    const setting = stage.Properties.AccessLogSetting as { DestinationArn: unknown; Format: string };
    const logGroup = idOf('AWS::Logs::LogGroup', 'ApiAccessLogs');
    expect(setting.DestinationArn).toEqual({ 'Fn::GetAtt': [logGroup, 'Arn'] });
    expect(JSON.parse(setting.Format)).toMatchObject({
      requestId: '$context.requestId',
      caller: '$context.identity.userArn',
      accessKey: '$context.identity.accessKey',
      method: '$context.httpMethod',
      route: '$context.resourcePath',
      status: '$context.status',
      latencyMs: '$context.responseLatency',
    });
    expect(resources[logGroup!]!.Properties.RetentionInDays).toBe(365);
  });

  it('logs execution errors without bodies, into a log group with a retention', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      MethodSettings: [Match.objectLike({ LoggingLevel: 'ERROR', DataTraceEnabled: false })],
    });
    const executionLogs = resources[idOf('AWS::Logs::LogGroup', 'ApiExecutionLogs')!]!;
    expect(executionLogs.Properties.RetentionInDays).toBe(365);
    expect(JSON.stringify(executionLogs.Properties.LogGroupName)).toContain('API-Gateway-Execution-Logs_');
    template.resourceCountIs('AWS::ApiGateway::Account', 1);
  });
});
