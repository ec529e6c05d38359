/**
 * What the stack gives the api function for its operator routes: every dead-letter queue of
 * the stack in OPERATOR_DEAD_LETTER_QUEUES, and the SQS rights to peek at and redrive exactly
 * those (the embedded runtime does not enforce IAM, so this is where the grants are checked).
 */
import { App } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import { FUNCTION_METADATA_KEY } from '../../infra/stack/wms-function.js';
import { WmsStack } from '../../infra/stack/wms-stack.js';

type Resource = { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> };
type Statement = { Action: string | string[]; Resource: unknown };

let resources: Record<string, Resource>;
let queues: Record<string, { dlq: string; source?: string }>;
let statements: Statement[];

/** The variable with each `Fn::GetAtt [id, QueueName]` replaced by the logical id. */
function withLogicalIds(value: unknown): string {
  const join = (value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  return join[1]
    .map((part) =>
      typeof part === 'string' ? part : (part as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0],
    )
    .join(join[0]);
}

beforeAll(() => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new WmsStack(app, 'GrantsWms', { env: { account: '123456789012', region: 'eu-west-1' } });
  resources = app.synth().getStackByName(stack.stackName).template.Resources as Record<string, Resource>;
  const [api] = Object.values(resources).filter(
    (resource) =>
      (resource.Metadata?.[FUNCTION_METADATA_KEY] as { name?: string } | undefined)?.name === 'api',
  );
  const variables = (api!.Properties!.Environment as { Variables: Record<string, unknown> }).Variables;
  queues = JSON.parse(withLogicalIds(variables.OPERATOR_DEAD_LETTER_QUEUES));
  const roleId = (api!.Properties!.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  statements = Object.values(resources)
    .filter(
      (resource) =>
        // CDK moves what does not fit the role's inline policy into a managed one.
        ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy'].includes(resource.Type) &&
        ((resource.Properties?.Roles ?? []) as { Ref: string }[]).some((role) => role.Ref === roleId),
    )
    .flatMap((policy) => (policy.Properties!.PolicyDocument as { Statement: Statement[] }).Statement);
}, 120_000);

function actionsOn(logicalId: string): Set<string> {
  const onQueue = statements.filter((statement) =>
    [statement.Resource]
      .flat()
      .some((resource) => JSON.stringify(resource) === JSON.stringify({ 'Fn::GetAtt': [logicalId, 'Arn'] })),
  );
  return new Set(onQueue.flatMap((statement) => [statement.Action].flat()));
}

describe('the api function and the dead-letter queues', () => {
  it('names every queue that is a dead-letter queue in the stack, by what it catches', () => {
    // Prepare: the queues other queues dead-letter into, and the pilot control and stream DLQs
    const targets = new Set(
      Object.values(resources)
        .map(
          (resource) =>
            resource.Properties?.RedrivePolicy as { deadLetterTargetArn?: { 'Fn::GetAtt': [string] } },
        )
        .flatMap((policy) =>
          policy?.deadLetterTargetArn ? [policy.deadLetterTargetArn['Fn::GetAtt'][0]] : [],
        ),
    );

    // Assess
    expect(Object.keys(queues).sort()).toEqual(
      [
        'dataset-admin',
        'dataset-close',
        'inbound-files',
        'job-generation',
        'jobs-cpu',
        'jobs-gpu',
        'pilot-control',
        'status',
        'stream-failures',
        'streams',
        'task-commands',
      ].sort(),
    );
    const named = new Set(Object.values(queues).map((queue) => queue.dlq));
    for (const target of targets) expect(named, `${target} is listed`).toContain(target);
    expect(queues['pilot-control']!.source).toBeUndefined();
    expect(queues.streams!.source).toBeUndefined();
  });

  it('may peek at and delete from each dead-letter queue, and send to its source only', () => {
    // Prepare: the streams' dead letters are the stream-failures queue, itself redrivable
    const deadLetterQueues = new Set(Object.values(queues).map((queue) => queue.dlq));

    // Assess
    for (const [name, { dlq, source }] of Object.entries(queues)) {
      const onDlq = actionsOn(dlq);
      for (const action of [
        'sqs:GetQueueUrl',
        'sqs:ReceiveMessage',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
      ]) {
        expect(onDlq, `${action} on the ${name} DLQ`).toContain(action);
      }
      if (source !== undefined) {
        expect(actionsOn(source), `the ${name} source`).toContain('sqs:SendMessage');
        if (!deadLetterQueues.has(source)) {
          expect(actionsOn(source), `the ${name} source`).not.toContain('sqs:DeleteMessage');
        }
      }
    }
  });
});
