/**
 * What the bench runs on: its own emulator, the counting proxy in front of it, the real stack
 * on the embedded runtime (pointed at the proxy, so its functions' calls are counted at the
 * boundary), pilots as separate processes (also through the proxy), and the bench's own
 * clients, counted in-process so its calls can be taken out of the boundary's count.
 */
import { join } from 'node:path';
import {
  type AwsClients,
  CallCounter,
  createAwsClients,
  createSignedHttp,
  type SignedHttp,
} from '../../../shared/aws/index.js';
import { createRepositories, type Repositories } from '../../../shared/repositories/index.js';
import {
  type LoggedControlPlane,
  type PilotOptions,
  type PilotProcess,
  startLoggedControlPlane,
  startPilot,
} from '../demo/environment.js';
import { type Emulator, startEmulator, useEmulatorEndpoint } from '../emulator.js';
import { type CountingProxy, startCountingProxy } from './counting-proxy.js';

export interface BenchSystemOptions {
  workDir: string;
  tunables: Record<string, string>;
  scheduleScale: number;
}

export interface BenchSystem {
  emulator: Emulator;
  proxy: CountingProxy;
  logged: LoggedControlPlane;
  plane: LoggedControlPlane['plane'];
  /** The bench's own clients; `driverCalls` counts what they send. */
  clients: AwsClients;
  driverCalls: CallCounter;
  repos: Repositories;
  api: SignedHttp;
  workDir: string;
  startPilot(options: PilotOptions): PilotProcess;
  stop(): Promise<void>;
}

/** A new emulator; the caller measures it raw before `startBenchSystem` puts the proxy in front. */
export async function startBenchEmulator(): Promise<Emulator> {
  const emulator = await startEmulator();
  useEmulatorEndpoint(emulator.endpoint);
  return emulator;
}

/** Starts the counting proxy in front of the emulator and points this process at it. */
export async function startProxyInFront(emulator: Emulator): Promise<CountingProxy> {
  const proxy = await startCountingProxy(emulator.endpoint);
  useEmulatorEndpoint(proxy.endpoint);
  return proxy;
}

/** The control plane on the emulator behind `proxy`; `stop()` ends the pilots, the plane and the proxy. */
export async function startBenchSystem(
  emulator: Emulator,
  proxy: CountingProxy,
  options: BenchSystemOptions,
): Promise<BenchSystem> {
  const pilots: PilotProcess[] = [];
  try {
    const logged = await startLoggedControlPlane({
      endpoint: proxy.endpoint,
      logDir: join(options.workDir, 'logs'),
      tunables: options.tunables,
      scheduleScale: options.scheduleScale,
    });
    const { plane } = logged;
    const driverCalls = new CallCounter();
    const clients = createAwsClients({ callCounter: driverCalls });
    return {
      emulator,
      proxy,
      logged,
      plane,
      clients,
      driverCalls,
      repos: createRepositories({ doc: clients.doc, tables: plane.tables }),
      // After a 10,000-job run an API request can wait well past a client's usual 10 s: moto
      // reads a whole table for each index query, under the one DynamoDB lock.
      api: createSignedHttp({ baseUrl: plane.apiUrl, region: plane.region, timeoutMs: 120_000 }),
      workDir: options.workDir,
      startPilot(pilotOptions) {
        const pilot = startPilot({ plane, logDir: logged.logDir, workDir: options.workDir }, pilotOptions);
        pilots.push(pilot);
        return pilot;
      },
      async stop() {
        await Promise.all(pilots.map((pilot) => pilot.stop()));
        await logged.stop();
        await proxy.stop();
      },
    };
  } catch (error) {
    await proxy.stop();
    throw error;
  }
}
