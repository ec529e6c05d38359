/**
 * The wiring a running runtime reports, read from what actually runs: the function pool, the
 * pollers (mapped back from the physical queue or stream they poll), the schedule timers, the
 * API's route table, and the event-pattern rules and targets listed from the emulator. Shaped
 * as `describeWiring(template)`, so the two compare with `toEqual`.
 */
import { relative } from 'node:path';
import { ListRulesCommand, ListTargetsByRuleCommand, type Rule } from '@aws-sdk/client-eventbridge';
import type { AwsClients } from '../../shared/aws/index.js';
import type { FunctionPool } from './function-pool.js';
import type { ProvisionedResource } from './provision.js';
import type { ScheduledRule } from './schedule-source.js';
import type { SqsEventSource } from './sqs-source.js';
import type { StreamEventSource } from './stream-source.js';
import type { EventSourceWiring, FunctionWiring, RouteWiring, RuleWiring, Wiring } from './types.js';

export interface RunningParts {
  prefix: string;
  projectRoot: string;
  clients: AwsClients;
  resources: ReadonlyMap<string, ProvisionedResource>;
  pool: FunctionPool;
  /** The resolved template variables of each function, by logical id. */
  functionEnvironments: ReadonlyMap<string, Record<string, string>>;
  sqsSources: readonly SqsEventSource[];
  streamSources: readonly StreamEventSource[];
  schedules: readonly ScheduledRule[];
  routes: readonly RouteWiring[];
}

function byLogicalId<T extends { logicalId: string }>(a: T, b: T): number {
  return a.logicalId.localeCompare(b.logicalId);
}

/** Maps physical names, ARNs and URLs back to logical ids. */
function logicalIdLookup(
  resources: ReadonlyMap<string, ProvisionedResource>,
): (value: string | undefined) => string {
  const byValue = new Map<string, string>();
  for (const [logicalId, resource] of resources) {
    for (const value of [resource.physicalName, resource.arn, resource.url, resource.streamArn]) {
      if (value !== undefined) byValue.set(value, logicalId);
    }
  }
  return (value) => byValue.get(value ?? '') ?? `(not a template resource: ${value})`;
}

async function listRules(clients: AwsClients, busName: string | undefined, prefix: string): Promise<Rule[]> {
  const rules: Rule[] = [];
  let nextToken: string | undefined;
  do {
    const page = await clients.eventBridge.send(
      new ListRulesCommand({ EventBusName: busName, NamePrefix: `${prefix}-`, NextToken: nextToken }),
    );
    rules.push(...(page.Rules ?? []));
    nextToken = page.NextToken;
  } while (nextToken !== undefined);
  return rules;
}

/** The runtime's event-pattern rules as the emulator holds them, on the default bus and the template's buses. */
async function emulatorRules(
  parts: RunningParts,
  logicalIdOf: (value: string | undefined) => string,
): Promise<RuleWiring[]> {
  const buses = [...parts.resources.values()].filter((resource) => resource.type === 'AWS::Events::EventBus');
  const rules: RuleWiring[] = [];
  for (const busName of [undefined, ...buses.map((bus) => bus.physicalName)]) {
    for (const rule of await listRules(parts.clients, busName, parts.prefix)) {
      const targets = await parts.clients.eventBridge.send(
        new ListTargetsByRuleCommand({ Rule: rule.Name, EventBusName: busName }),
      );
      rules.push({
        logicalId: logicalIdOf(rule.Name),
        bus: busName === undefined ? null : logicalIdOf(busName),
        enabled: rule.State === 'ENABLED',
        trigger: {
          kind: 'pattern',
          pattern: JSON.parse(rule.EventPattern ?? '{}') as Record<string, unknown>,
        },
        targets: (targets.Targets ?? []).map((target) => ({
          id: target.Id ?? '',
          kind: target.Arn?.split(':')[2] === 'sqs' ? 'sqs' : 'lambda',
          logicalId: logicalIdOf(target.Arn),
          input: target.Input ?? null,
          messageGroupId: target.SqsParameters?.MessageGroupId ?? null,
        })),
      });
    }
  }
  return rules;
}

export async function readLiveWiring(parts: RunningParts): Promise<Wiring> {
  const logicalIdOf = logicalIdLookup(parts.resources);
  const functions: FunctionWiring[] = parts.pool.definitions().map((fn) => ({
    logicalId: fn.logicalId,
    name: fn.name,
    entry: relative(parts.projectRoot, fn.entryPath),
    timeoutSeconds: fn.timeoutSeconds,
    memoryMb: fn.memoryMb,
    reservedConcurrency: fn.reservedConcurrency,
    environment: Object.keys(parts.functionEnvironments.get(fn.logicalId) ?? {}).sort(),
  }));
  const eventSources: EventSourceWiring[] = [
    ...parts.sqsSources.map((source) => ({
      ...source.wiring,
      queue: logicalIdOf(source.queueUrl),
      enabled: source.running,
    })),
    ...parts.streamSources.map((source) => ({
      ...source.wiring,
      table: logicalIdOf(source.streamArn),
      enabled: source.running,
    })),
  ];
  const scheduled = parts.schedules.map((schedule) => ({ ...schedule.rule, enabled: schedule.running }));
  return {
    functions: functions.sort(byLogicalId),
    eventSources: eventSources.sort(byLogicalId),
    rules: [...(await emulatorRules(parts, logicalIdOf)), ...scheduled].sort(byLogicalId),
    routes: [...parts.routes].sort(
      (a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method),
    ),
  };
}
