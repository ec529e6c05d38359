/**
 * Where the embedded runtime finds its AWS services: an existing AWS-compatible endpoint
 * (moto, LocalStack, another emulator) named by `--endpoint` or WMS_LOCAL_ENDPOINT, or a
 * moto server of its own on loopback. The variable is the runtime's own rather than
 * AWS_ENDPOINT_URL, which the runtime sets for its clients and many shells set for other tools.
 */

import { startEmulator } from './emulator.js';
import { RuntimeConfigurationError } from './errors.js';

export const ENDPOINT_VARIABLE = 'WMS_LOCAL_ENDPOINT';

/** The endpoint the runtime runs on, and whether it started it (then `stop` ends it). */
export interface ServiceEndpoint {
  endpoint: string;
  /** True when the endpoint was there before: stopping leaves it and its state alone. */
  attached: boolean;
  /** The moto server's PID when this process started it. */
  pid: number | null;
  stop(): Promise<void>;
}

/** `--endpoint`, else WMS_LOCAL_ENDPOINT, as an http(s) URL without a trailing slash; undefined when neither is set. */
export function configuredEndpoint(
  option: string | undefined,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string | undefined {
  const text = option ?? (env[ENDPOINT_VARIABLE] || undefined);
  if (text === undefined) return undefined;
  const source = option === undefined ? ENDPOINT_VARIABLE : '--endpoint';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RuntimeConfigurationError(`${source} ${JSON.stringify(text)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new RuntimeConfigurationError(`${source} ${text} must be an http(s) URL`);
  if (url.pathname !== '/' || url.search !== '')
    throw new RuntimeConfigurationError(`${source} ${text} must be a bare endpoint (scheme, host and port)`);
  return url.origin;
}

const REACHABLE_TIMEOUT_MS = 5_000;

/** Any HTTP answer will do: what matters is that something listens there. */
async function assertReachable(endpoint: string): Promise<void> {
  try {
    const response = await fetch(endpoint, { signal: AbortSignal.timeout(REACHABLE_TIMEOUT_MS) });
    await response.body?.cancel();
  } catch (error) {
    throw new RuntimeConfigurationError(
      `cannot reach the AWS endpoint ${endpoint}: ${error instanceof Error ? (error.cause ?? error.message) : String(error)}`,
    );
  }
}

/** Attaches to `endpoint` when given (after checking it answers), else starts moto on loopback. */
export async function startOrAttach(options: { endpoint?: string; port?: number }): Promise<ServiceEndpoint> {
  if (options.endpoint !== undefined) {
    await assertReachable(options.endpoint);
    return { endpoint: options.endpoint, attached: true, pid: null, stop: async () => {} };
  }
  const emulator = await startEmulator({ port: options.port });
  return { endpoint: emulator.endpoint, attached: false, pid: emulator.pid, stop: () => emulator.stop() };
}
