/**
 * Every function's configuration schema against the environment the stack gives it, and the
 * grants the watchdog's SQS calls need. The stack is synthesized without bundling (fast): the
 * template's environment and policies are the same either way.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { FUNCTION_CONFIG_SCHEMAS } from '../../functions/config-schemas.js';
import { loadConfig } from '../../shared/config/index.js';
import { statementsOfRole } from './grants.js';
import { FUNCTION_METADATA_KEY } from './wms-function.js';
import { WmsStack } from './wms-stack.js';

/** A template resource; those this test reads (functions, policies) always have properties. */
type Resource = { Type: string; Properties: Record<string, unknown>; Metadata?: Record<string, unknown> };
type Statement = { Action: string | string[]; Resource: unknown };

let resources: Record<string, Resource>;

beforeAll(() => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new WmsStack(app, 'EnvWms', { env: { account: '123456789012', region: 'eu-west-1' } });
  resources = Template.fromStack(stack).toJSON().Resources;
}, 120_000);

function functionsByName(): Map<string, Resource> {
  const found = new Map<string, Resource>();
  for (const resource of Object.values(resources)) {
    const metadata = resource.Metadata?.[FUNCTION_METADATA_KEY] as { name: string } | undefined;
    if (resource.Type === 'AWS::Lambda::Function' && metadata) found.set(metadata.name, resource);
  }
  return found;
}

const REGION = 'eu-west-1';
const ACCOUNT = '123456789012';
const PSEUDO_PARAMETERS: Record<string, string> = {
  'AWS::Partition': 'aws',
  'AWS::Region': REGION,
  'AWS::AccountId': ACCOUNT,
  'AWS::URLSuffix': 'amazonaws.com',
};

/**
 * A template value as it is once deployed, with a placeholder of the right shape for each
 * token: a queue's Ref or QueueUrl is a URL, an Arn an ARN, any other Ref or attribute a plain
 * lowercase name; Fn::Join joins the resolved parts (so a JSON document stays valid JSON).
 */
function deployedValue(value: unknown): string {
  if (typeof value === 'string') return value;
  const intrinsic = value as Record<string, unknown>;
  if ('Ref' in intrinsic) {
    const id = intrinsic.Ref as string;
    const pseudo = PSEUDO_PARAMETERS[id];
    if (pseudo !== undefined) return pseudo;
    const name = `placeholder-${id.toLowerCase()}`;
    return resources[id]?.Type === 'AWS::SQS::Queue'
      ? `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${name}`
      : name;
  }
  if ('Fn::GetAtt' in intrinsic) {
    const [id, attribute] = intrinsic['Fn::GetAtt'] as [string, string];
    const name = `placeholder-${id.toLowerCase()}`;
    if (attribute === 'QueueUrl') return `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${name}`;
    if (attribute !== 'Arn') return name;
    const service = resources[id]?.Type.split('::')[1]?.toLowerCase() ?? 'unknown';
    return `arn:aws:${service}:${REGION}:${ACCOUNT}:${name}`;
  }
  if ('Fn::Join' in intrinsic) {
    const [separator, parts] = intrinsic['Fn::Join'] as [string, unknown[]];
    return parts.map(deployedValue).join(separator);
  }
  throw new Error(`no placeholder for ${JSON.stringify(value)}`);
}

function environmentOf(fn: Resource): Record<string, string> {
  const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
  return Object.fromEntries(
    Object.entries(variables).map(([variable, value]) => [variable, deployedValue(value)]),
  );
}

function statementsOfFunction(fn: Resource): Statement[] {
  const [roleId] = (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'];
  return statementsOfRole(resources, roleId);
}

const actionsOf = (statement: Statement) => [statement.Action].flat();

describe('the environment the stack gives each function', () => {
  it('names a configuration schema for exactly the functions the stack defines', () => {
    expect([...functionsByName().keys()].sort()).toEqual(Object.keys(FUNCTION_CONFIG_SCHEMAS).sort());
  });

  it.each(Object.entries(FUNCTION_CONFIG_SCHEMAS))('holds every variable %s requires', (name, schema) => {
    const fn = functionsByName().get(name);
    expect(fn, `the stack defines ${name}`).toBeDefined();
    expect(() => loadConfig(schema, environmentOf(fn!))).not.toThrow();
  });

  it("keeps the throughput history in CloudWatch's metrics: the status function records it, the api reads it", () => {
    const kinds = [...functionsByName()]
      .filter(([, fn]) => 'THROUGHPUT_HISTORY' in environmentOf(fn))
      .map(([name, fn]) => `${name} ${environmentOf(fn).THROUGHPUT_HISTORY}`);
    expect(kinds.sort()).toEqual(['api cloudwatch', 'status cloudwatch']);
  });

  it('would be refused by a schema wanting a variable the stack does not give', () => {
    const environment = environmentOf(functionsByName().get('file-input')!);
    expect(() => loadConfig(FUNCTION_CONFIG_SCHEMAS['dataset-close']!, environment)).toThrow(
      /JOB_GENERATION_QUEUE_URL: missing/,
    );
  });
});

describe('the watchdog role', () => {
  it('may list queues (SQS authorizes that only on `*`) and read the attributes of pilot control queues', () => {
    const statements = statementsOfFunction(functionsByName().get('watchdog')!);
    const listing = statements.filter((statement) => actionsOf(statement).includes('sqs:ListQueues'));
    expect(listing).toEqual([{ Action: 'sqs:ListQueues', Effect: 'Allow', Resource: '*' }]);
    const controlQueues = statements.find(
      (statement) =>
        actionsOf(statement).includes('sqs:DeleteQueue') &&
        JSON.stringify(statement.Resource).includes('-pilot-*'),
    );
    expect(controlQueues).toBeDefined();
    const attributes = statements.filter(
      (statement) =>
        actionsOf(statement).includes('sqs:GetQueueAttributes') &&
        JSON.stringify(statement.Resource) === JSON.stringify(controlQueues!.Resource),
    );
    expect(attributes).toHaveLength(1);
  });

  it('is the only role with an SQS action on every resource', () => {
    const withWildcard = [...functionsByName()]
      .filter(([, fn]) =>
        statementsOfFunction(fn).some(
          (statement) =>
            statement.Resource === '*' && actionsOf(statement).some((action) => action.startsWith('sqs:')),
        ),
      )
      .map(([name]) => name);
    expect(withWildcard).toEqual(['watchdog']);
  });
});
