/**
 * What the bench runs on: its own emulator, the real stack on the embedded runtime (its
 * functions count their AWS calls with an SDK middleware, see `function-pool.ts`), pilots as
 * separate processes (which log their own counts at exit), and the bench's own clients.
 */
import { join } from 'node:path';
import {
  type AwsClients,
  createAwsClients,
  createSignedHttp,
  type SignedHttp,
} from '../../../shared/aws/index.js';
import { createRepositories, type Repositories } from '../../../shared/repositories/index.js';
import {
  type Emulator,
  type LoggedControlPlane,
  type PilotOptions,
  type PilotProcess,
  startEmulator,
  startLoggedControlPlane,
  startPilot,
  useEmulatorEndpoint,
} from '../index.js';

export interface BenchSystemOptions {
  workDir: string;
  tunables: Record<string, string>;
  scheduleScale: number;
}

export interface BenchSystem {
  emulator: Emulator;
  logged: LoggedControlPlane;
  plane: LoggedControlPlane['plane'];
  /** The bench's own clients. */
  clients: AwsClients;
  repos: Repositories;
  api: SignedHttp;
  workDir: string;
  startPilot(options: PilotOptions): PilotProcess;
  stop(): Promise<void>;
}

/** A new emulator, this process pointed at it. */
export async function startBenchEmulator(): Promise<Emulator> {
  const emulator = await startEmulator();
  useEmulatorEndpoint(emulator.endpoint);
  return emulator;
}

/** The control plane on the emulator; `stop()` ends the pilots and the plane. */
export async function startBenchSystem(
  emulator: Emulator,
  options: BenchSystemOptions,
): Promise<BenchSystem> {
  const pilots: PilotProcess[] = [];
  const logged = await startLoggedControlPlane({
    endpoint: emulator.endpoint,
    logDir: join(options.workDir, 'logs'),
    tunables: options.tunables,
    scheduleScale: options.scheduleScale,
  });
  const { plane } = logged;
  const clients = createAwsClients();
  return {
    emulator,
    logged,
    plane,
    clients,
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
    },
  };
}
