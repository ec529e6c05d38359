/**
 * Everything the demo (and the benchmark) start on the embedded default: the emulator, the
 * real stack in the embedded runtime, and pilots as separate processes. Each part stops only
 * what it started.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type EmbeddedControlPlane, startEmbeddedControlPlane } from '../embedded.js';
import { type Emulator, startEmulator } from '../emulator.js';

const PROJECT_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PILOT_MAIN = join(PROJECT_ROOT, 'pilot/agent/main.ts');
const EMULATOR_CREDENTIALS = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' };
const REGION = 'us-east-1';

export interface EmbeddedSystem {
  emulator: Emulator;
  plane: EmbeddedControlPlane;
  /** Where logs of the functions and pilots go. */
  logDir: string;
  stop(): Promise<void>;
}

export interface EmbeddedSystemOptions {
  workDir: string;
  /** Function settings, e.g. shorter heartbeats for a demo. */
  tunables?: Record<string, string>;
  scheduleScale?: number;
}

/** Points this process's AWS clients at the emulator through the standard variables only. */
function configureForEmulator(endpoint: string): void {
  for (const name of Object.keys(process.env)) {
    if (name.startsWith('AWS_ENDPOINT_URL_')) delete process.env[name];
  }
  Object.assign(process.env, EMULATOR_CREDENTIALS, {
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: REGION,
    AWS_S3_FORCE_PATH_STYLE: 'true',
  });
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
}

export async function startEmbeddedSystem(options: EmbeddedSystemOptions): Promise<EmbeddedSystem> {
  const logDir = join(options.workDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const emulator = await startEmulator();
  try {
    configureForEmulator(emulator.endpoint);
    const functionOutput = createWriteStream(join(logDir, 'functions.log'));
    const plane = await startEmbeddedControlPlane({
      endpoint: emulator.endpoint,
      prefix: 'wms',
      tunables: options.tunables,
      scheduleScale: options.scheduleScale ?? 1,
      functionOutput,
      log: (entry) => functionOutput.write(`${JSON.stringify({ runtime: true, ...entry })}\n`),
    });
    return {
      emulator,
      plane,
      logDir,
      async stop() {
        await plane.stop();
        functionOutput.end();
        await emulator.stop();
      },
    };
  } catch (error) {
    await emulator.stop();
    throw error;
  }
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
  exited: Promise<number | null>;
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

/** Starts a pilot as its own process, exactly as on a node (from source, through tsx). */
export function startPilot(system: EmbeddedSystem, workDir: string, options: PilotOptions): PilotProcess {
  const home = join(workDir, 'pilots', options.name);
  mkdirSync(home, { recursive: true });
  const { plane } = system;
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
    ...options.extraConfig,
  };
  const configFile = join(home, 'pilot.json');
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const path =
    options.device === 'GPU'
      ? `${fakeNvidiaSmi(join(home, 'bin'), options.gpus ?? options.slots)}:${process.env.PATH}`
      : process.env.PATH;
  const log = createWriteStream(join(system.logDir, `pilot-${options.name}.log`));
  const child = spawn(process.execPath, ['--import', 'tsx', PILOT_MAIN, '--config', configFile], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, PATH: path },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    name: options.name,
    child,
    exited,
    kill: (signal) => child.kill(signal),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        await exited;
        clearTimeout(timer);
      }
      log.end();
    },
  };
}
