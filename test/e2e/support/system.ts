/**
 * The whole system for one end-to-end suite: the real stack in the embedded runtime on the
 * test emulator (functions' logs in a file), pilots as separate processes, and a directory
 * where payloads record their process ids. `stop()` ends what the suite started.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type EmbeddedControlPlane,
  type PilotOptions,
  type PilotProcess,
  startLoggedControlPlane,
  startPilot,
} from '../../../infra/local/index.js';
import { type AwsClients, awsClients, createSignedHttp, type SignedHttp } from '../../../shared/aws/index.js';
import { createRepositories, type Repositories } from '../../../shared/repositories/index.js';
import { uniquePrefix } from '../../support/index.js';
import { killLeftoverPayloads } from './payload-processes.js';

/** Seconds between pilot heartbeats unless a suite asks otherwise. */
const DEFAULT_HEARTBEAT_SECONDS = 2;

export interface SystemOptions {
  /** Names the work directory. */
  name: string;
  tunables?: Record<string, string>;
  /** Factor on schedule periods: 0.05 runs the 1-minute watchdog and dispatch schedules every 3 s. */
  scheduleScale?: number;
}

export type E2ePilotOptions = Omit<PilotOptions, 'device' | 'heartbeatIntervalSeconds'> &
  Partial<Pick<PilotOptions, 'device' | 'heartbeatIntervalSeconds'>>;

/** What suites use of a control plane: its API, region and the stack's resources. */
export type PlaneNames = Omit<EmbeddedControlPlane, 'runtime' | 'template' | 'stop'>;

/** The system as the scenarios' helpers see it, whether its control plane runs in this process or another. */
export interface SystemCore {
  plane: PlaneNames;
  /** The REST API, signed with this process's (emulator) credentials. */
  api: SignedHttp;
  /** Requests the suite made through `api`; the API's other requests are the pilots'. */
  suiteApiRequests(): number;
  clients: AwsClients;
  repos: Repositories;
  workDir: string;
  logDir: string;
  /** Where payloads that record their process id write `<jobId>.<attempt>.pid`. */
  pidDir: string;
  /** A CPU pilot with quick polls and a short shutdown grace, stopped with the system. */
  startPilot(options: E2ePilotOptions): PilotProcess;
  stop(): Promise<void>;
}

/** The system with the control plane in this process. */
export interface System extends SystemCore {
  plane: EmbeddedControlPlane;
}

/** Where a suite's files go: its work directory, with logs and payloads' process ids in it. */
export function systemDirectories(name: string): { workDir: string; logDir: string; pidDir: string } {
  const workDir = mkdtempSync(join(tmpdir(), `spd-wms-e2e-${name}-`));
  const pidDir = join(workDir, 'pids');
  const logDir = join(workDir, 'logs');
  mkdirSync(pidDir, { recursive: true });
  mkdirSync(logDir, { recursive: true });
  return { workDir, logDir, pidDir };
}

export function testEndpoint(): string {
  const endpoint = process.env.AWS_ENDPOINT_URL;
  if (!endpoint) throw new Error('AWS_ENDPOINT_URL is not set: run under the e2e project');
  return endpoint;
}

export async function startSystem(options: SystemOptions): Promise<System> {
  const endpoint = testEndpoint();
  const directories = systemDirectories(options.name);
  const logged = await startLoggedControlPlane({
    endpoint,
    logDir: directories.logDir,
    prefix: uniquePrefix('e2e'),
    tunables: options.tunables,
    scheduleScale: options.scheduleScale,
  });
  return {
    ...systemAround(logged.plane, options.name, directories, () => logged.stop()),
    plane: logged.plane,
  };
}

/** Pilots, clients and the stop of a suite around `plane`; `stopPlane` ends the control plane. */
export function systemAround(
  plane: PlaneNames,
  name: string,
  directories: { workDir: string; logDir: string; pidDir: string },
  stopPlane: () => Promise<void>,
  /** How long an API request may take; the client's usual 10 s by default. */
  apiTimeoutMs?: number,
): SystemCore {
  const { workDir, logDir, pidDir } = directories;
  const clients = awsClients();
  const pilots: PilotProcess[] = [];
  const signed = createSignedHttp({
    baseUrl: plane.apiUrl,
    region: plane.region,
    ...(apiTimeoutMs !== undefined && { timeoutMs: apiTimeoutMs }),
  });
  let apiRequests = 0;
  return {
    plane,
    api: (method, path, request) => {
      apiRequests += 1;
      return signed(method, path, request);
    },
    suiteApiRequests: () => apiRequests,
    clients,
    repos: createRepositories({ doc: clients.doc, tables: plane.tables }),
    workDir,
    logDir,
    pidDir,
    startPilot(pilot) {
      const started = startPilot(
        { plane, logDir, workDir },
        {
          device: 'CPU',
          heartbeatIntervalSeconds: DEFAULT_HEARTBEAT_SECONDS,
          ...pilot,
          extraConfig: {
            pollWaitSeconds: 1,
            shutdownGraceSeconds: 2,
            killGraceSeconds: 2,
            ...pilot.extraConfig,
          },
        },
      );
      pilots.push(started);
      return started;
    },
    async stop() {
      await Promise.all(pilots.map((pilot) => pilot.stop()));
      killLeftoverPayloads(pidDir);
      await stopPlane();
      // Staged inputs and spools are of no use after the run; the logs are kept.
      rmSync(join(workDir, 'pilots'), { recursive: true, force: true });
      console.log(`${name}: logs in ${logDir}`);
    },
  };
}
