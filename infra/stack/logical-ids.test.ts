/**
 * The logical ids of the resources that hold state or that something outside the template
 * names, pinned for the stack the CDK app deploys (`SpdWms`) and the embedded runtime runs.
 * On AWS a changed logical id replaces the resource: a new, empty table, bucket or queue, a new
 * API URL for pilots and clients, a new policy ARN for the roles it is attached to. The embedded
 * runtime names what it creates after the logical id and keeps its stream checkpoints and
 * schedule state by it. A part of the stack built under a construct scope of its own, or a
 * renamed construct, fails here; change this table only together with a migration.
 */
import { App } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../app.js';

const PINNED_RESOURCES: Record<string, string[]> = {
  'AWS::DynamoDB::Table': [
    'ControlTableF3E1E223',
    'DatasetsTableF4ECB6D5',
    'FilesTable1399FAA4',
    'JobsTable1970BC16',
    'PilotsTableBE2D6472',
    'TasksTable88911DC5',
  ],
  'AWS::S3::Bucket': ['AccessLogs8B620ECA', 'Data666C94C7'],
  'AWS::SQS::Queue': [
    'DatasetAdminDeadLetter0617DD3F',
    'DatasetAdminQueue26E24E45',
    'DatasetCloseDeadLetter7FA31EBF',
    'DatasetCloseQueueBCC333C5',
    'InboundFilesDeadLetterC0333155',
    'InboundFilesQueue6617BFCC',
    'JobGenerationDeadLetter9861686C',
    'JobGenerationQueue25B5C71E',
    'JobsCpuDeadLetterA91D33A0',
    'JobsCpuQueueF7FB88F2',
    'JobsGpuDeadLetter835EB269',
    'JobsGpuQueueA68DFD9D',
    'PilotControlDeadLetter4607A441',
    'StatusDeadLetter3384D28C',
    'StatusQueueCCC4F141',
    'StreamFailuresDeadLetter289F4BAD',
    'StreamFailuresQueue4F2B15EC',
    'TaskCommandsDeadLetter1673E0F1',
    'TaskCommandsQueueE5FC8384',
  ],
  'AWS::Events::EventBus': ['BusEA82B648'],
  'AWS::Events::Rule': [
    'DatasetAdminRuleA7033F01',
    'DatasetCloseRule3004F6DF',
    'DispatchSchedule2EA6112B',
    'FileInputRule3E22024B',
    'TaskCommandsRule3AD45DA8',
    'WatchdogScheduleC50FCB48',
  ],
  'AWS::Lambda::Function': [
    'ApiFunction685AAB5B',
    'DatasetAdminFunction0A4EDB06',
    'DatasetCloseFunction80F36F44',
    'DispatcherFunction1C68B525',
    'FileInputFunction2678F0F6',
    'JobGeneratorFunction26C1A458',
    'RankUpdaterFunctionA852E1C8',
    'StatusFunctionC21CFFFA',
    'TaskCommandsFunction67FA8F33',
    'TaskLifecycleFunction8693EF78',
    'WatchdogFunctionC5783FDE',
  ],
  // CDK derives these from the paths of the function and of its queue or table.
  'AWS::Lambda::EventSourceMapping': [
    'DatasetAdminFunctionSqsEventSourceSpdWmsDatasetAdminQueue53BCC190445532FB',
    'DatasetCloseFunctionSqsEventSourceSpdWmsDatasetCloseQueueCFBB596BB8125AE1',
    'DispatcherFunctionDynamoDBEventSourceSpdWmsJobsTable0AC648A6E70A5C1A',
    'DispatcherFunctionDynamoDBEventSourceSpdWmsPilotsTable9D5F2C2EFB97184A',
    'FileInputFunctionSqsEventSourceSpdWmsInboundFilesQueue34BB25510102F607',
    'JobGeneratorFunctionSqsEventSourceSpdWmsJobGenerationQueueF54839D71DC49603',
    'RankUpdaterFunctionDynamoDBEventSourceSpdWmsJobsTable0AC648A6893219FD',
    'StatusFunctionSqsEventSourceSpdWmsStatusQueueF0D020AB4E748997',
    'TaskCommandsFunctionSqsEventSourceSpdWmsTaskCommandsQueue11100FB89DEA73A5',
    'TaskLifecycleFunctionDynamoDBEventSourceSpdWmsTasksTableB24EFB4656F37FF6',
  ],
  'AWS::ApiGateway::RestApi': ['ApiF70053CD'],
  'AWS::IAM::ManagedPolicy': ['OperatorPolicy63C1EB6F', 'PilotPolicyFEDBD60D', 'WfmsClientPolicy26F48EC0'],
  'AWS::SNS::Topic': ['AlarmTopicD01E77F9'],
};

/** Operators and the CLI read these by name (docs/deploy-aws.md). */
const PINNED_OUTPUTS = [
  'AccessLogBucketName',
  'AlarmTopicArn',
  'ApiAccessLogGroupName',
  'ApiEndpoint4F160690',
  'ApiUrl',
  'DataBucketName',
  'EventBusName',
  'JobsCpuQueueUrl',
  'JobsGpuQueueUrl',
  'OperatorPolicyArn',
  'PilotPolicyArn',
  'StatusQueueUrl',
  'WfmsPolicyArn',
];

let resources: Record<string, { Type: string }>;
let outputs: Record<string, unknown>;

beforeAll(() => {
  const { app, stack } = buildApp(new App({ context: { 'aws:cdk:bundling-stacks': [] } }));
  const template = app.synth().getStackByName(stack.stackName).template as {
    Resources: typeof resources;
    Outputs: typeof outputs;
  };
  resources = template.Resources;
  outputs = template.Outputs;
}, 120_000);

describe('the logical ids of the deployed stack', () => {
  it.each(Object.entries(PINNED_RESOURCES))('keeps those of every %s', (type, pinned) => {
    const ids = Object.entries(resources)
      .filter(([, resource]) => resource.Type === type)
      .map(([id]) => id);
    expect(ids.sort()).toEqual([...pinned].sort());
  });

  it('keeps the names of the outputs', () => {
    expect(Object.keys(outputs).sort()).toEqual([...PINNED_OUTPUTS].sort());
  });
});
