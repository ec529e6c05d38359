/**
 * The real control plane for integration and end-to-end tests: the WmsStack template run by
 * the embedded runtime on the test emulator (AWS_ENDPOINT_URL), with a SigV4 API client.
 */
import {
  buildPutEventsEntry,
  type DetailInputOf,
  type DetailType,
  type SourceOf,
} from '../../events/index.js';
import { publishEvents } from '../../functions/common/index.js';
import {
  type EmbeddedControlPlane,
  type EmbeddedControlPlaneOptions,
  startEmbeddedControlPlane,
} from '../../infra/local/index.js';
import { awsClients, createSignedHttp, type SignedHttp } from '../../shared/aws/index.js';
import { uniquePrefix } from './tables.js';

export type { QueueName } from '../../infra/local/index.js';

export interface ControlPlane extends EmbeddedControlPlane {
  /** A client signed with this process's (emulator) credentials. */
  api: SignedHttp;
  putEvent<T extends DetailType>(detailType: T, source: SourceOf<T>, detail: DetailInputOf<T>): Promise<void>;
}

export type ControlPlaneOptions = Pick<EmbeddedControlPlaneOptions, 'tunables' | 'scheduleScale'>;

/**
 * How long a test's API request may take: a function's first invocation starts its worker
 * (imports, clients), which on a loaded two-core machine running two test files can take
 * longer than a client's usual 10 s.
 */
const TEST_API_TIMEOUT_MS = 60_000;

export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const endpoint = process.env.AWS_ENDPOINT_URL;
  if (!endpoint) throw new Error('AWS_ENDPOINT_URL is not set: run under the integration project');
  const plane = await startEmbeddedControlPlane({ endpoint, prefix: uniquePrefix('wms'), ...options });
  return {
    ...plane,
    api: createSignedHttp({ baseUrl: plane.apiUrl, region: plane.region, timeoutMs: TEST_API_TIMEOUT_MS }),
    async putEvent(detailType, source, detail) {
      const entry = buildPutEventsEntry({ detailType, source, detail, eventBusName: plane.busName });
      await publishEvents(awsClients().eventBridge, [entry]);
    },
  };
}
