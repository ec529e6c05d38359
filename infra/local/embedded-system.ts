/**
 * Everything the demo (and the end-to-end tests) start on the embedded default: the emulator,
 * the real stack in the embedded runtime with its functions' logs in a file, and pilots as
 * separate processes. Each part stops only what it started.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ServiceEndpoint, startOrAttach } from './attach.js';
import { type EmbeddedControlPlane, startEmbeddedControlPlane } from './embedded.js';
import { useEmulatorEndpoint } from './emulator.js';
import { credentialsFileEnv } from './pilot-credentials.js';
import type { MintedCredentials } from './runtime.js';

const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PILOT_MAIN = join(PROJECT_ROOT, 'pilot/agent/main.ts');
/** How long a pilot told to stop may take before it is killed. */
const PILOT_STOP_TIMEOUT_MS = 30_000;

/** A control plane whose functions' logs go to `<logDir>/functions.log`. */
export interface LoggedControlPlane {
  plane: EmbeddedControlPlane;
  /** Where the logs of the functions (and of the pilots started against it) go. */
  logDir: string;
  stop(): Promise<void>;
}

export interface LoggedControlPlaneOptions {
  /** The emulator; this process's AWS_ENDPOINT_URL must point at it too. */
  endpoint: string;
  logDir: string;
  /** Prefix of the physical names, so several planes can share one emulator. */
  prefix?: string;
  /** Function settings, e.g. shorter heartbeats for a demo. */
  tunables?: Record<string, string>;
  scheduleScale?: number;
}

export async function startLoggedControlPlane(
  options: LoggedControlPlaneOptions,
): Promise<LoggedControlPlane> {
  mkdirSync(options.logDir, { recursive: true });
  const functionOutput = createWriteStream(join(options.logDir, 'functions.log'));
  // Every function's worker pipes its stdout and stderr here: many listeners, no leak.
  functionOutput.setMaxListeners(0);
  try {
    const plane = await startEmbeddedControlPlane({
      endpoint: options.endpoint,
      prefix: options.prefix ?? 'wms',
      tunables: options.tunables,
      scheduleScale: options.scheduleScale ?? 1,
      functionOutput,
      log: (entry) => functionOutput.write(`${JSON.stringify({ runtime: true, ...entry })}\n`),
    });
    return {
      plane,
      logDir: options.logDir,
      async stop() {
        await plane.stop();
        functionOutput.end();
      },
    };
  } catch (error) {
    functionOutput.end();
    throw error;
  }
}

/** A control plane on an emulator of its own (or an existing endpoint); pilots are started against it with `startPilot`. */
export interface EmbeddedSystem extends LoggedControlPlane {
  emulator: ServiceEndpoint;
  /** Where pilots keep their files. */
  workDir: string;
}

export interface EmbeddedSystemOptions {
  workDir: string;
  /** An existing AWS-compatible endpoint to run on instead of a new emulator. */
  endpoint?: string;
  /** Function settings, e.g. shorter heartbeats for a demo. */
  tunables?: Record<string, string>;
  scheduleScale?: number;
}

/** A new emulator (or the given endpoint) with the control plane on it; logs under `<workDir>/logs`. */
export async function startEmbeddedSystem(options: EmbeddedSystemOptions): Promise<EmbeddedSystem> {
  const emulator = await startOrAttach({ endpoint: options.endpoint });
  try {
    useEmulatorEndpoint(emulator.endpoint);
    const logged = await startLoggedControlPlane({
      endpoint: emulator.endpoint,
      logDir: join(options.workDir, 'logs'),
      tunables: options.tunables,
      scheduleScale: options.scheduleScale,
    });
    return {
      ...logged,
      emulator,
      workDir: options.workDir,
      async stop() {
        await logged.stop();
        await emulator.stop();
      },
    };
  } catch (error) {
    await emulator.stop();
    throw error;
  }
}

/** What a pilot is started against, and where its files go. */
export interface PilotHost {
  /**
   * The control plane; with its runtime in this process, each pilot gets a key of its own
   * from it. A control plane running in another process (started by main.ts) accepts only
   * this process's key, which its pilots then share.
   */
  plane: Pick<EmbeddedControlPlane, 'apiUrl' | 'region' | 'queueUrls'> &
    Partial<Pick<EmbeddedControlPlane, 'runtime'>>;
  /** The pilot's log goes to `<logDir>/pilot-<name>.log`. */
  logDir: string;
  /** The pilot's configuration, work and spool directories go under `<workDir>/pilots/<name>`. */
  workDir: string;
}

export interface PilotOptions {
  name: string;
  device: 'CPU' | 'GPU';
  slots: number;
  /** GPUs the fake `nvidia-smi` reports (GPU pilots). */
  gpus?: number;
  heartbeatIntervalSeconds: number;
  extraConfig?: Record<string, unknown>;
}

export interface PilotProcess {
  name: string;
  child: ChildProcess;
  /** Its exit code, or null when a signal ended it; resolves once its output is all logged. */
  exited: Promise<number | null>;
  /** Its pilot id once registered with the control plane; throws if it exits before. */
  registered(): Promise<string>;
  stop(): Promise<void>;
  kill(signal: NodeJS.Signals): void;
}

/** A directory with an `nvidia-smi` that lists `count` GPUs, to simulate a GPU node. */
function fakeNvidiaSmi(directory: string, count: number): string {
  mkdirSync(directory, { recursive: true });
  const script = join(directory, 'nvidia-smi');
  const indices = Array.from({ length: count }, (_, i) => i).join('\\n');
  writeFileSync(script, `#!/bin/sh\nprintf '${indices}\\n'\n`);
  chmodSync(script, 0o755);
  return directory;
}

/** The pilot id of a "pilot registered" log line, if `line` is one. */
function registeredPilotId(line: string): string | undefined {
  try {
    const entry = JSON.parse(line) as { message?: unknown; pilotId?: unknown };
    if (entry.message === 'pilot registered' && typeof entry.pilotId === 'string') return entry.pilotId;
  } catch {
    // Not a log line of the pilot (a stack trace, tsx's output): not a registration.
  }
  return undefined;
}

/** The environment that makes a pilot sign with `key`: each pilot has its own, as each node its own identity. */
function pilotKeyEnvironment(key: MintedCredentials | undefined): NodeJS.ProcessEnv {
  return key === undefined
    ? {}
    : { AWS_ACCESS_KEY_ID: key.accessKeyId, AWS_SECRET_ACCESS_KEY: key.secretAccessKey };
}

/** Starts a pilot as its own process, exactly as on a node (from source, through tsx). */
export function startPilot(host: PilotHost, options: PilotOptions): PilotProcess {
  const home = join(host.workDir, 'pilots', options.name);
  mkdirSync(home, { recursive: true });
  const { plane } = host;
  const config = {
    apiUrl: plane.apiUrl,
    region: plane.region,
    jobQueueUrls: { CPU: plane.queueUrls.jobsCpu, GPU: plane.queueUrls.jobsGpu },
    statusQueueUrl: plane.queueUrls.status,
    device: options.device,
    slots: options.slots,
    workDir: join(home, 'work'),
    spoolDir: join(home, 'spool'),
    heartbeatIntervalSeconds: options.heartbeatIntervalSeconds,
    pollWaitSeconds: 2,
    // A developer's machine: the payloads run as the pilot (which needs no root), and the
    // pilot's record says so.
    allowSameUserPayloads: true,
    ...options.extraConfig,
  };
  const configFile = join(home, 'pilot.json');
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const path =
    options.device === 'GPU'
      ? `${fakeNvidiaSmi(join(home, 'bin'), options.gpus ?? options.slots)}:${process.env.PATH}`
      : process.env.PATH;
  mkdirSync(host.logDir, { recursive: true });
  const log = createWriteStream(join(host.logDir, `pilot-${options.name}.log`));
  const child = spawn(process.execPath, ['--import', 'tsx', PILOT_MAIN, '--config', configFile], {
    cwd: PROJECT_ROOT,
    env: {
      ...credentialsFileEnv(home, {
        ...process.env,
        ...pilotKeyEnvironment(plane.runtime?.mintCredentials()),
      }).env,
      PATH: path,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  // 'close' comes after the output is read to its end, so the log is complete by then.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  // Resolves with null when the pilot exits unregistered, so nobody is left with a rejection.
  const pilotId = new Promise<string | null>((resolve) => {
    let partial = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const id = registeredPilotId(line);
        if (id !== undefined) resolve(id);
      }
    });
    void exited.then(() => resolve(null));
  });
  let stopped: Promise<void> | undefined;
  return {
    name: options.name,
    child,
    exited,
    async registered() {
      const id = await pilotId;
      if (id === null) throw new Error(`pilot ${options.name} exited before it registered`);
      return id;
    },
    kill: (signal) => child.kill(signal),
    stop() {
      stopped ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), PILOT_STOP_TIMEOUT_MS);
          await exited;
          clearTimeout(timer);
        }
        await exited;
        await new Promise<void>((resolve) => log.end(resolve));
      })();
      return stopped;
    },
  };
}
