/**
 * The access table against the code: each function's table grants are exactly what the
 * repository methods its code can reach need (shared/repositories/operations.ts), its code
 * reaches DynamoDB only through the repositories, and every other AWS call it can make is
 * allowed by its synthesized role. The embedded runtime's emulator does not enforce IAM, so a
 * grant narrowed below what the code calls would otherwise show only on AWS.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPOSITORY_OPERATIONS } from '../../shared/repositories/operations.js';
import type { TableKey } from '../../shared/repositories/tables.js';
import { FUNCTION_ACCESS, type FunctionName, type TableAccess } from './function-access.js';
import { functionRoles, statementsOfRole, type TemplateResources } from './grants.js';
import { functionsProgram, type ReachableCalls, reachableCalls } from './reachable-calls.js';
import { FUNCTION_METADATA_KEY, PROJECT_ROOT } from './wms-function.js';
import { WmsStack } from './wms-stack.js';

/** The IAM actions each AWS SDK command the functions send needs. */
const COMMAND_ACTIONS: Record<string, string[]> = {
  'client-sqs:SendMessage': ['sqs:SendMessage'],
  'client-sqs:SendMessageBatch': ['sqs:SendMessage'],
  'client-sqs:ReceiveMessage': ['sqs:ReceiveMessage'],
  'client-sqs:DeleteMessageBatch': ['sqs:DeleteMessage'],
  'client-sqs:ChangeMessageVisibility': ['sqs:ChangeMessageVisibility'],
  'client-sqs:ChangeMessageVisibilityBatch': ['sqs:ChangeMessageVisibility'],
  'client-sqs:GetQueueAttributes': ['sqs:GetQueueAttributes'],
  'client-sqs:GetQueueUrl': ['sqs:GetQueueUrl'],
  'client-sqs:CreateQueue': ['sqs:CreateQueue'],
  'client-sqs:SetQueueAttributes': ['sqs:SetQueueAttributes'],
  'client-sqs:DeleteQueue': ['sqs:DeleteQueue'],
  'client-sqs:PurgeQueue': ['sqs:PurgeQueue'],
  'client-sqs:ListQueues': ['sqs:ListQueues'],
  'client-s3:HeadObject': ['s3:GetObject', 's3:ListBucket'],
  'client-s3:GetObject': ['s3:GetObject'],
  'client-s3:PutObject': ['s3:PutObject'],
  'client-s3:CreateMultipartUpload': ['s3:PutObject'],
  'client-s3:UploadPart': ['s3:PutObject'],
  'client-s3:CompleteMultipartUpload': ['s3:PutObject'],
  'client-s3:AbortMultipartUpload': ['s3:AbortMultipartUpload'],
  'client-eventbridge:PutEvents': ['events:PutEvents'],
  'client-cloudwatch:GetMetricData': ['cloudwatch:GetMetricData'],
};

const FUNCTION_NAMES = Object.keys(FUNCTION_ACCESS) as FunctionName[];

let program: ts.Program;
let resources: TemplateResources;
let roles: Map<string, string>;
const reached = new Map<FunctionName, ReachableCalls>();

beforeAll(() => {
  program = functionsProgram(PROJECT_ROOT, FUNCTION_NAMES);
  for (const name of FUNCTION_NAMES) reached.set(name, reachableCalls(program, PROJECT_ROOT, name));
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new WmsStack(app, 'AccessWms', { env: { account: '123456789012', region: 'eu-west-1' } });
  resources = Template.fromStack(stack).toJSON().Resources;
  roles = functionRoles(resources, FUNCTION_METADATA_KEY);
}, 180_000);

function declaredOperations(tables: Partial<Record<TableKey, TableAccess>>): string[] {
  return Object.entries(tables).flatMap(([table, access]) => [
    ...access.actions.map((action) => `${table}:${action}`),
    ...(access.indexes ?? []).map((index) => `${table}/${index}:Query`),
  ]);
}

function neededOperations(repositoryMethods: ReadonlySet<string>): string[] {
  const operations = new Set<string>();
  for (const method of repositoryMethods) {
    const [repository, name] = method.split('.') as [keyof typeof REPOSITORY_OPERATIONS, string];
    const listed = (REPOSITORY_OPERATIONS[repository] as Record<string, readonly string[]>)[name];
    if (!listed) throw new Error(`${method} is not in REPOSITORY_OPERATIONS`);
    for (const operation of listed) operations.add(operation);
  }
  return [...operations];
}

describe('the access table against the code of each function', () => {
  it.each(FUNCTION_NAMES)('%s is granted exactly the table operations its repository calls need', (name) => {
    const calls = reached.get(name)!;
    expect(calls.repositoryMethods.size, `${name} reaches the repositories`).toBeGreaterThan(0);
    expect(declaredOperations(FUNCTION_ACCESS[name].tables).sort()).toEqual(
      neededOperations(calls.repositoryMethods).sort(),
    );
  });

  it.each(FUNCTION_NAMES)('%s reaches DynamoDB only through the repositories', (name) => {
    const direct = [...reached.get(name)!.sdkCommands].filter((command) => /dynamodb/.test(command));
    expect(direct).toEqual([]);
  });

  it.each(FUNCTION_NAMES)('%s may make every other AWS call its code can make', (name) => {
    const granted = new Set(
      statementsOfRole(resources, roles.get(name)!).flatMap((statement) => [statement.Action].flat()),
    );
    for (const command of reached.get(name)!.sdkCommands) {
      const actions = COMMAND_ACTIONS[command];
      expect(actions, `${command} has its IAM actions listed`).toBeDefined();
      for (const action of actions!) expect(granted, `${name}: ${command} needs ${action}`).toContain(action);
    }
  });

  it('finds the calls behind a repository method reached only through a service', () => {
    expect(reached.get('dispatcher')!.repositoryMethods).toContain('control.lease');
    expect(reached.get('api')!.sdkCommands).toContain('client-s3:HeadObject');
  });
});
