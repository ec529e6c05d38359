/**
 * The real control plane for integration and end-to-end tests: the WmsStack template run by
 * the embedded runtime on the test emulator (AWS_ENDPOINT_URL), with a SigV4 API client and
 * the physical names of what the stack declares.
 */
import { App, type CfnElement } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import {
  buildPutEventsEntry,
  type DetailInputOf,
  type DetailType,
  type SourceOf,
} from '../../events/index.js';
import { publishEvents } from '../../functions/common/index.js';
import { type LocalRuntime, startLocalRuntime } from '../../infra/local/index.js';
import { WmsStack } from '../../infra/stack/wms-stack.js';
import { awsClients, createSignedHttp, type SignedHttp } from '../../shared/aws/index.js';
import type { TableKey, TableNames } from '../../shared/repositories/index.js';
import { uniquePrefix } from './tables.js';

/** Bundling is for deployment; the runtime imports the TypeScript entries directly. */
const SKIP_BUNDLING_CONTEXT = { 'aws:cdk:bundling-stacks': [] };

export type QueueName = keyof WmsStack['queues'];

export interface ControlPlane {
  runtime: LocalRuntime;
  /** The synthesized template the runtime runs. */
  template: Record<string, unknown>;
  apiUrl: string;
  /** A client signed with this process's (emulator) credentials. */
  api: SignedHttp;
  tables: TableNames;
  queueUrls: Record<QueueName, string>;
  deadLetterQueueUrls: Record<QueueName, string>;
  busName: string;
  bucket: string;
  putEvent<T extends DetailType>(detailType: T, source: SourceOf<T>, detail: DetailInputOf<T>): Promise<void>;
  stop(): Promise<void>;
}

export interface ControlPlaneOptions {
  /** Function settings (docs/configuration.md), e.g. `{ PILOT_LOST_AFTER_SECONDS: '5' }`. */
  tunables?: Record<string, string>;
  /** Factor on schedule periods: 0.05 runs a 1-minute schedule every 3 s. */
  scheduleScale?: number;
}

export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const endpoint = process.env.AWS_ENDPOINT_URL;
  if (!endpoint) throw new Error('AWS_ENDPOINT_URL is not set: run under the integration project');
  const app = new App({ context: SKIP_BUNDLING_CONTEXT });
  const stack = new WmsStack(app, 'Wms', { tunables: options.tunables, retainData: false });
  const template = app.synth().getStackByName(stack.stackName).template as Record<string, unknown>;
  const runtime = await startLocalRuntime({
    template,
    endpoint,
    prefix: uniquePrefix('wms'),
    scheduleScale: options.scheduleScale ?? 1,
  });

  const logicalId = (construct: IConstruct) => stack.getLogicalId(construct.node.defaultChild as CfnElement);
  const resource = (construct: IConstruct) => {
    const found = runtime.resources[logicalId(construct)];
    if (!found) throw new Error(`the runtime has no resource for ${construct.node.path}`);
    return found;
  };
  const queueNames = Object.keys(stack.queues) as QueueName[];
  const queueUrls = Object.fromEntries(
    queueNames.map((name) => [name, resource(stack.queues[name]!.queue).url!]),
  );
  const deadLetterQueueUrls = Object.fromEntries(
    queueNames.map((name) => [name, resource(stack.queues[name]!.deadLetterQueue).url!]),
  );
  const tables = Object.fromEntries(
    (Object.keys(stack.tables) as TableKey[]).map((key) => [key, resource(stack.tables[key]).physicalName]),
  ) as TableNames;
  const busName = resource(stack.bus).physicalName;
  const bucket = resource(stack.bucket).physicalName;
  const apiUrl = runtime.api?.url;
  if (!apiUrl) throw new Error('the stack declares no API');
  const api = createSignedHttp({ baseUrl: apiUrl, region: runtime.region });

  return {
    runtime,
    template,
    apiUrl,
    api,
    tables,
    queueUrls: queueUrls as Record<QueueName, string>,
    deadLetterQueueUrls: deadLetterQueueUrls as Record<QueueName, string>,
    busName,
    bucket,
    async putEvent(detailType, source, detail) {
      const entry = buildPutEventsEntry({ detailType, source, detail, eventBusName: busName });
      await publishEvents(awsClients().eventBridge, [entry]);
    },
    stop: () => runtime.stop(),
  };
}
