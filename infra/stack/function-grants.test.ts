/**
 * Each function's grants, pinned: every action on every resource its role allows, read from
 * the synthesized policies. A grant added or removed anywhere (the access table, a bind
 * helper, an event source, CDK) fails here until this table is changed with it. Resources are
 * named by logical id without the hash; `Bus-pilot-*` is the pilot control queues' name pattern.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { functionRoles, grantsOf, statementsOfRole, type TemplateResources } from './grants.js';
import { FUNCTION_METADATA_KEY } from './wms-function.js';
import { WmsStack } from './wms-stack.js';

const EXPECTED_GRANTS: Record<string, string[]> = {
  api: [
    '* cloudwatch:GetMetricData',
    'ApiFunctionLogs logs:CreateLogStream logs:PutLogEvents',
    'arn:<AWS::Partition>:sqs:<AWS::Region>:<AWS::AccountId>:Bus-pilot-* sqs:CreateQueue sqs:DeleteQueue sqs:GetQueueUrl sqs:SendMessage sqs:SetQueueAttributes',
    'Bus events:PutEvents',
    'ControlTable dynamodb:BatchGetItem',
    'Data s3:ListBucket',
    'Data/archive/* s3:GetObject',
    'Data/datasets/* s3:GetObject',
    'Data/outputs/* s3:GetObject',
    'DatasetAdminDeadLetter sqs:ChangeMessageVisibility sqs:DeleteMessage sqs:GetQueueAttributes sqs:GetQueueUrl sqs:PurgeQueue sqs:ReceiveMessage',
    'DatasetAdminQueue sqs:GetQueueUrl sqs:SendMessage',
    'DatasetCloseDeadLetter sqs:ChangeMessageVisibility sqs:DeleteMessage sqs:GetQueueAttributes sqs:GetQueueUrl sqs:PurgeQueue sqs:ReceiveMessage',
    'DatasetCloseQueue sqs:GetQueueUrl sqs:SendMessage',
    'DatasetsTable dynamodb:GetItem dynamodb:PutItem dynamodb:UpdateItem',
    'FilesTable dynamodb:BatchGetItem dynamodb:GetItem dynamodb:PutItem dynamodb:Query',
    'InboundFilesDeadLetter sqs:ChangeMessageVisibility sqs:DeleteMessage sqs:GetQueueAttributes sqs:GetQueueUrl sqs:PurgeQueue sqs:ReceiveMessage',
    'InboundFilesQueue sqs:GetQueueUrl sqs:SendMessage',
    'JobGenerationDeadLetter sqs:ChangeMessageVisibility sqs:DeleteMessage sqs:GetQueueAttributes sqs:GetQueueUrl sqs:PurgeQueue sqs:ReceiveMessage',
    'JobGenerationQueue sqs:GetQueueUrl sqs:SendMessage',
    'JobsCpuDeadLetter sqs:ChangeMessageVisibility sqs:DeleteMessage sqs:GetQueueAttributes sqs:GetQueueUrl sqs:PurgeQueue sqs:ReceiveMessage',
    'JobsCpuQueue sqs:GetQueueAttributes sqs:GetQueueUrl sqs:SendMessage',
    'JobsGpuDeadLetter sqs:ChangeMessageVisibility sqs:DeleteMessage sqs:GetQueueAttributes sqs:GetQueueUrl sqs:PurgeQueue sqs:ReceiveMessage',
    'JobsGpuQueue sqs:GetQueueAttributes sqs:GetQueueUrl sqs:SendMessage',
    'JobsTable dynamodb:BatchGetItem dynamodb:GetItem dynamodb:UpdateItem',
    'JobsTable/index/byTask dynamodb:Query',
    'PilotControlDeadLetter sqs:ChangeMessageVisibility sqs:DeleteMessage sqs:GetQueueAttributes sqs:GetQueueUrl sqs:PurgeQueue sqs:ReceiveMessage',
    'PilotsTable dynamodb:ConditionCheckItem dynamodb:GetItem dynamodb:PutItem dynamodb:UpdateItem',
    'PilotsTable/index/byState dynamodb:Query',
    'StatusDeadLetter sqs:ChangeMessageVisibility sqs:DeleteMessage sqs:GetQueueAttributes sqs:GetQueueUrl sqs:PurgeQueue sqs:ReceiveMessage',
    'StatusQueue sqs:GetQueueUrl sqs:SendMessage',
    'StreamFailuresDeadLetter sqs:ChangeMessageVisibility sqs:DeleteMessage sqs:GetQueueAttributes sqs:GetQueueUrl sqs:PurgeQueue sqs:ReceiveMessage',
    'StreamFailuresQueue sqs:ChangeMessageVisibility sqs:DeleteMessage sqs:GetQueueAttributes sqs:GetQueueUrl sqs:PurgeQueue sqs:ReceiveMessage sqs:SendMessage',
    'TaskCommandsDeadLetter sqs:ChangeMessageVisibility sqs:DeleteMessage sqs:GetQueueAttributes sqs:GetQueueUrl sqs:PurgeQueue sqs:ReceiveMessage',
    'TaskCommandsQueue sqs:GetQueueUrl sqs:SendMessage',
    'TasksTable dynamodb:BatchGetItem dynamodb:GetItem dynamodb:PutItem dynamodb:UpdateItem',
    'TasksTable/index/byState dynamodb:Query',
  ],
  'dataset-admin': [
    'DatasetAdminDeadLetter sqs:SendMessage',
    'DatasetAdminFunctionLogs logs:CreateLogStream logs:PutLogEvents',
    'DatasetAdminQueue sqs:ChangeMessageVisibility sqs:DeleteMessage sqs:GetQueueAttributes sqs:GetQueueUrl sqs:ReceiveMessage',
    'DatasetsTable dynamodb:GetItem dynamodb:UpdateItem',
    'TasksTable dynamodb:BatchGetItem dynamodb:GetItem dynamodb:UpdateItem',
    'TasksTable/index/byInputDataset dynamodb:Query',
  ],
  'dataset-close': [
    'Data s3:ListBucket',
    'Data/checklists/* s3:GetObject',
    'Data/datasets/* s3:GetObject',
    'DatasetCloseDeadLetter sqs:SendMessage',
    'DatasetCloseFunctionLogs logs:CreateLogStream logs:PutLogEvents',
    'DatasetCloseQueue sqs:ChangeMessageVisibility sqs:DeleteMessage sqs:GetQueueAttributes sqs:GetQueueUrl sqs:ReceiveMessage',
    'DatasetsTable dynamodb:GetItem dynamodb:PutItem dynamodb:UpdateItem',
    'FilesTable dynamodb:Query',
    'JobGenerationQueue sqs:SendMessage',
    'TasksTable dynamodb:BatchGetItem dynamodb:GetItem dynamodb:UpdateItem',
    'TasksTable/index/byInputDataset dynamodb:Query',
  ],
  dispatcher: [
    '* dynamodb:ListStreams',
    'ControlTable dynamodb:PutItem dynamodb:UpdateItem',
    'DispatcherFunctionLogs logs:CreateLogStream logs:PutLogEvents',
    'JobsCpuQueue sqs:SendMessage',
    'JobsGpuQueue sqs:SendMessage',
    'JobsTable dynamodb:UpdateItem',
    'JobsTable.StreamArn dynamodb:DescribeStream dynamodb:GetRecords dynamodb:GetShardIterator',
    'JobsTable/index/byTask dynamodb:Query',
    'PilotsTable.StreamArn dynamodb:DescribeStream dynamodb:GetRecords dynamodb:GetShardIterator',
    'PilotsTable/index/byState dynamodb:Query',
    'StreamFailuresQueue sqs:GetQueueAttributes sqs:GetQueueUrl sqs:SendMessage',
    'TasksTable dynamodb:BatchGetItem dynamodb:GetItem dynamodb:UpdateItem',
    'TasksTable/index/byState dynamodb:Query',
  ],
  'file-input': [
    'DatasetsTable dynamodb:GetItem dynamodb:PutItem dynamodb:UpdateItem',
    'FileInputFunctionLogs logs:CreateLogStream logs:PutLogEvents',
    'FilesTable dynamodb:PutItem',
    'InboundFilesDeadLetter sqs:SendMessage',
    'InboundFilesQueue sqs:ChangeMessageVisibility sqs:DeleteMessage sqs:GetQueueAttributes sqs:GetQueueUrl sqs:ReceiveMessage',
    'JobsTable dynamodb:PutItem',
    'TasksTable dynamodb:BatchGetItem dynamodb:GetItem dynamodb:UpdateItem',
    'TasksTable/index/byInputDataset dynamodb:Query',
  ],
  'job-generator': [
    'DatasetsTable dynamodb:GetItem',
    'FilesTable dynamodb:Query',
    'JobGenerationDeadLetter sqs:SendMessage',
    'JobGenerationQueue sqs:ChangeMessageVisibility sqs:DeleteMessage sqs:GetQueueAttributes sqs:GetQueueUrl sqs:ReceiveMessage sqs:SendMessage',
    'JobGeneratorFunctionLogs logs:CreateLogStream logs:PutLogEvents',
    'JobsTable dynamodb:PutItem',
    'TasksTable dynamodb:BatchGetItem dynamodb:GetItem dynamodb:UpdateItem',
  ],
  'rank-updater': [
    '* dynamodb:ListStreams',
    'ControlTable dynamodb:GetItem dynamodb:PutItem',
    'JobsTable.StreamArn dynamodb:DescribeStream dynamodb:GetRecords dynamodb:GetShardIterator',
    'RankUpdaterFunctionLogs logs:CreateLogStream logs:PutLogEvents',
    'StreamFailuresQueue sqs:GetQueueAttributes sqs:GetQueueUrl sqs:SendMessage',
    'TasksTable dynamodb:BatchGetItem dynamodb:GetItem dynamodb:UpdateItem',
  ],
  status: [
    'Bus events:PutEvents',
    'ControlTable dynamodb:UpdateItem',
    'DatasetsTable dynamodb:PutItem dynamodb:UpdateItem',
    'FilesTable dynamodb:BatchGetItem dynamodb:PutItem',
    'JobsTable dynamodb:ConditionCheckItem dynamodb:UpdateItem',
    'StatusDeadLetter sqs:SendMessage',
    'StatusFunctionLogs logs:CreateLogStream logs:PutLogEvents',
    'StatusQueue sqs:ChangeMessageVisibility sqs:DeleteMessage sqs:GetQueueAttributes sqs:GetQueueUrl sqs:ReceiveMessage',
    'TasksTable dynamodb:ConditionCheckItem dynamodb:GetItem dynamodb:UpdateItem',
  ],
  'task-commands': [
    'arn:<AWS::Partition>:sqs:<AWS::Region>:<AWS::AccountId>:Bus-pilot-* sqs:SendMessage',
    'Bus events:PutEvents',
    'DatasetsTable dynamodb:GetItem dynamodb:PutItem',
    'JobGenerationQueue sqs:SendMessage',
    'JobsTable dynamodb:UpdateItem',
    'JobsTable/index/byTask dynamodb:Query',
    'PilotsTable dynamodb:GetItem',
    'TaskCommandsDeadLetter sqs:SendMessage',
    'TaskCommandsFunctionLogs logs:CreateLogStream logs:PutLogEvents',
    'TaskCommandsQueue sqs:ChangeMessageVisibility sqs:DeleteMessage sqs:GetQueueAttributes sqs:GetQueueUrl sqs:ReceiveMessage',
    'TasksTable dynamodb:BatchGetItem dynamodb:GetItem dynamodb:PutItem dynamodb:UpdateItem',
  ],
  'task-lifecycle': [
    '* dynamodb:ListStreams',
    'Bus events:PutEvents',
    'Data/checklists/* s3:PutObject',
    'DatasetsTable dynamodb:PutItem dynamodb:UpdateItem',
    'FilesTable dynamodb:Query',
    'StreamFailuresQueue sqs:GetQueueAttributes sqs:GetQueueUrl sqs:SendMessage',
    'TaskLifecycleFunctionLogs logs:CreateLogStream logs:PutLogEvents',
    'TasksTable dynamodb:BatchGetItem dynamodb:GetItem dynamodb:UpdateItem',
    'TasksTable.StreamArn dynamodb:DescribeStream dynamodb:GetRecords dynamodb:GetShardIterator',
  ],
  watchdog: [
    '* sqs:ListQueues',
    'arn:<AWS::Partition>:sqs:<AWS::Region>:<AWS::AccountId>:Bus-pilot-* sqs:DeleteQueue sqs:GetQueueAttributes sqs:SendMessage',
    'Bus events:PutEvents',
    'Data s3:ListBucket',
    'Data/archive/* s3:AbortMultipartUpload s3:GetObject s3:PutObject',
    'Data/datasets/* s3:GetObject',
    'Data/outputs/* s3:GetObject',
    'DatasetsTable dynamodb:GetItem dynamodb:UpdateItem',
    'FilesTable dynamodb:PutItem dynamodb:Query dynamodb:UpdateItem',
    'JobsCpuQueue sqs:GetQueueAttributes',
    'JobsGpuQueue sqs:GetQueueAttributes',
    'JobsTable dynamodb:BatchGetItem dynamodb:UpdateItem',
    'JobsTable/index/byPilot dynamodb:Query',
    'JobsTable/index/byTask dynamodb:Query',
    'JobsTable/index/inFlight dynamodb:Query',
    'PilotsTable dynamodb:GetItem dynamodb:UpdateItem',
    'PilotsTable/index/byState dynamodb:Query',
    'TasksTable dynamodb:BatchGetItem dynamodb:GetItem dynamodb:UpdateItem',
    'TasksTable/index/byState dynamodb:Query',
    'TasksTable/index/toArchive dynamodb:Query',
    'WatchdogFunctionLogs logs:CreateLogStream logs:PutLogEvents',
  ],
};

let resources: TemplateResources;
let roles: Map<string, string>;

beforeAll(() => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new WmsStack(app, 'GrantsWms', { env: { account: '123456789012', region: 'eu-west-1' } });
  resources = Template.fromStack(stack).toJSON().Resources;
  roles = functionRoles(resources, FUNCTION_METADATA_KEY);
}, 120_000);

const grantLines = (roleId: string) =>
  Object.entries(grantsOf(statementsOfRole(resources, roleId))).map(
    ([resource, actions]) => `${resource} ${actions.join(' ')}`,
  );

describe('the grants of each function', () => {
  it('are pinned for exactly the functions the stack defines', () => {
    expect([...roles.keys()].sort()).toEqual(Object.keys(EXPECTED_GRANTS).sort());
  });

  it.each(Object.entries(EXPECTED_GRANTS))('of %s are exactly the pinned ones', (name, expected) => {
    const roleId = roles.get(name);
    expect(roleId, `the stack defines ${name}`).toBeDefined();
    expect(grantLines(roleId!).sort()).toEqual([...expected].sort());
  });

  it('come from no managed policy: a role may write only to its own log group', () => {
    for (const [name, roleId] of roles) {
      expect(resources[roleId]?.Properties.ManagedPolicyArns, name).toBeUndefined();
      const logGrants = grantLines(roleId).filter((line) => line.includes(' logs:'));
      expect(logGrants, name).toEqual([
        expect.stringMatching(/^[A-Za-z]+FunctionLogs logs:CreateLogStream logs:PutLogEvents$/),
      ]);
    }
  });

  it('never include a DynamoDB Scan, delete or batch write, nor a wildcard action', () => {
    for (const [name, roleId] of roles) {
      expect(grantLines(roleId).join('\n'), name).not.toMatch(
        /dynamodb:(Scan|DeleteItem|BatchWriteItem)|:\*( |$)/m,
      );
    }
  });

  it('name every resource except where AWS authorizes the action on `*` only', () => {
    const onEveryResource = [...roles].flatMap(([name, roleId]) =>
      grantLines(roleId)
        .filter((line) => line.startsWith('* '))
        .map((line) => `${name} ${line.slice(2)}`),
    );
    expect(onEveryResource.sort()).toEqual([
      'api cloudwatch:GetMetricData',
      'dispatcher dynamodb:ListStreams',
      'rank-updater dynamodb:ListStreams',
      'task-lifecycle dynamodb:ListStreams',
      'watchdog sqs:ListQueues',
    ]);
  });
});
