/**
 * The WMS stack on the embedded runtime: synthesizes the real WmsStack (bundling skipped: the
 * runtime imports the TypeScript handlers), runs it against an emulator, and names what the
 * stack declares by its physical names there.
 */
import type { CfnElement } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { TableKey, TableNames } from '../../shared/repositories/index.js';
import type { WmsStack } from '../stack/wms-stack.js';
import type { RuntimeLog } from './log.js';
import { type LocalResource, type LocalRuntime, startLocalRuntime } from './runtime.js';

const SKIP_BUNDLING_CONTEXT = { 'aws:cdk:bundling-stacks': [] };

export type QueueName = keyof WmsStack['queues'];

export interface EmbeddedControlPlane {
  runtime: LocalRuntime;
  /** The synthesized template the runtime runs. */
  template: Record<string, unknown>;
  apiUrl: string;
  region: string;
  tables: TableNames;
  queueUrls: Record<QueueName, string>;
  deadLetterQueueUrls: Record<QueueName, string>;
  busName: string;
  bucket: string;
  stop(): Promise<void>;
}

export interface EmbeddedControlPlaneOptions {
  /** The emulator; this process's AWS_ENDPOINT_URL must point at it too. */
  endpoint: string;
  prefix?: string;
  /** Function settings (docs/configuration.md), e.g. `{ PILOT_LOST_AFTER_SECONDS: '20' }`. */
  tunables?: Record<string, string>;
  /** Factor on schedule periods: 0.05 runs a 1-minute schedule every 3 s. */
  scheduleScale?: number;
  /** Where the functions' own logs go. */
  functionOutput?: NodeJS.WritableStream;
  log?: RuntimeLog;
}

/** The stack's tables, queues, bus and bucket by the names the stack gives them, from the runtime's resources by logical id. */
export function stackResourceNames(
  stack: WmsStack,
  resources: Readonly<Record<string, LocalResource>>,
): Pick<EmbeddedControlPlane, 'tables' | 'queueUrls' | 'deadLetterQueueUrls' | 'busName' | 'bucket'> {
  const resource = (construct: IConstruct) => {
    const found = resources[stack.getLogicalId(construct.node.defaultChild as CfnElement)];
    if (!found) throw new Error(`the runtime has no resource for ${construct.node.path}`);
    return found;
  };
  const queueNames = Object.keys(stack.queues) as QueueName[];
  const urls = (pick: (name: QueueName) => IConstruct) =>
    Object.fromEntries(queueNames.map((name) => [name, resource(pick(name)).url!])) as Record<
      QueueName,
      string
    >;
  return {
    tables: Object.fromEntries(
      (Object.keys(stack.tables) as TableKey[]).map((key) => [key, resource(stack.tables[key]).physicalName]),
    ) as TableNames,
    queueUrls: urls((name) => stack.queues[name].queue),
    deadLetterQueueUrls: urls((name) => stack.queues[name].deadLetterQueue),
    busName: resource(stack.bus).physicalName,
    bucket: resource(stack.bucket).physicalName,
  };
}

export async function startEmbeddedControlPlane(
  options: EmbeddedControlPlaneOptions,
): Promise<EmbeddedControlPlane> {
  // Loaded here, not with the module: users of the runtime's other exports (handler tests
  // building Lambda's event records) do not pay for loading the CDK and the stack.
  const [{ App }, { WmsStack }] = await Promise.all([import('aws-cdk-lib'), import('../stack/wms-stack.js')]);
  const app = new App({ context: SKIP_BUNDLING_CONTEXT });
  const stack = new WmsStack(app, 'SpdWms', { tunables: options.tunables, retainData: false });
  const template = app.synth().getStackByName(stack.stackName).template as Record<string, unknown>;
  const runtime = await startLocalRuntime({
    template,
    endpoint: options.endpoint,
    ...(options.prefix !== undefined && { prefix: options.prefix }),
    scheduleScale: options.scheduleScale ?? 1,
    ...(options.functionOutput && { functionOutput: options.functionOutput }),
    ...(options.log && { log: options.log }),
  });
  const apiUrl = runtime.api?.url;
  if (!apiUrl) throw new Error('the stack declares no API');
  return {
    runtime,
    template,
    apiUrl,
    region: runtime.region,
    ...stackResourceNames(stack, runtime.resources),
    stop: () => runtime.stop(),
  };
}
