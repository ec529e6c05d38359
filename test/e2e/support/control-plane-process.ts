/**
 * The control plane as its own process, exactly as an operator starts it
 * (`infra/local/main.ts --endpoint … --prefix … --api-port …`), so a suite can kill it
 * outright and start it again on the same endpoint, prefix and API port while its pilots
 * keep running.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import { type LocalResource, stackResourceNames } from '../../../infra/local/index.js';
import { WmsStack } from '../../../infra/stack/wms-stack.js';
import { uniquePrefix } from '../../support/index.js';
import {
  type PlaneNames,
  type SystemCore,
  type SystemOptions,
  systemAround,
  systemDirectories,
  testEndpoint,
} from './system.js';

const PROJECT_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MAIN = join(PROJECT_ROOT, 'infra/local/main.ts');
/** Synthesizing the stack and provisioning on a loaded machine. */
const START_TIMEOUT_MS = 120_000;
/**
 * A control plane process starts every function's worker at its first invocation: the API
 * function's first requests after a start wait for its imports on a loaded machine.
 */
const API_TIMEOUT_MS = 60_000;
/** main.ts imports the handlers' TypeScript directly; bundling is for deployment. */
const SKIP_BUNDLING_CONTEXT = { 'aws:cdk:bundling-stacks': [] };

/** What main.ts prints once it serves. */
interface Summary {
  region: string;
  apiUrl: string;
  resources: Record<string, LocalResource>;
}

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

/**
 * main.ts pretty-prints its summary: a line `{` opens it and a line `}` closes it (the
 * functions' JSON log lines on the same stdout are one line each).
 */
function readSummary(child: ChildProcess): Promise<Summary> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const lines: string[] = [];
    let inside = false;
    const timer = setTimeout(
      () => reject(new Error('the control plane did not start in time')),
      START_TIMEOUT_MS,
    );
    const onData = (chunk: Buffer) => {
      const parts = (buffered + chunk.toString('utf8')).split('\n');
      buffered = parts.pop() ?? '';
      for (const line of parts) {
        if (line === '{') inside = true;
        if (inside) lines.push(line);
        if (inside && line === '}') {
          clearTimeout(timer);
          child.stdout?.off('data', onData);
          resolve(JSON.parse(lines.join('\n')) as Summary);
          return;
        }
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the control plane exited (${code ?? signal}) before it served`));
    });
  });
}

export interface RestartableSystem extends SystemCore {
  /** Ends the control plane's process with SIGKILL, as a crash would. */
  killControlPlane(): Promise<void>;
  /** Starts the control plane again on the same endpoint, prefix and API port. */
  startControlPlane(): Promise<void>;
  /** PID of the running control plane's process. */
  controlPlanePid(): number | undefined;
}

export async function startRestartableSystem(options: SystemOptions): Promise<RestartableSystem> {
  const endpoint = testEndpoint();
  const directories = systemDirectories(options.name);
  const prefix = uniquePrefix('rs');
  const apiPort = await freeLoopbackPort();
  const tunables = options.tunables ?? {};
  // The same stack main.ts synthesizes, to name its resources by the stack's own keys.
  const stack = new WmsStack(new App({ context: SKIP_BUNDLING_CONTEXT }), 'SpdWms', {
    tunables,
    retainData: true,
  });
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let starts = 0;

  const start = async (): Promise<PlaneNames> => {
    starts += 1;
    const log = createWriteStream(join(directories.logDir, `control-plane-${starts}.log`));
    const process_ = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        MAIN,
        '--endpoint',
        endpoint,
        '--prefix',
        prefix,
        '--api-port',
        String(apiPort),
        '--schedule-scale',
        String(options.scheduleScale ?? 1),
      ],
      {
        cwd: PROJECT_ROOT,
        env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify({ tunables: JSON.stringify(tunables) }) },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child = process_;
    process_.stdout.pipe(log, { end: false });
    process_.stderr.pipe(log, { end: false });
    exited = new Promise((resolve) => process_.once('close', () => log.end(() => resolve())));
    try {
      const summary = await readSummary(process_);
      return {
        apiUrl: summary.apiUrl,
        region: summary.region,
        ...stackResourceNames(stack, summary.resources),
      };
    } catch (error) {
      process_.kill('SIGKILL');
      await exited;
      throw error;
    }
  };

  const stopPlane = async (signal: NodeJS.Signals) => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };

  const plane = await start();
  const core = systemAround(plane, options.name, directories, () => stopPlane('SIGTERM'), API_TIMEOUT_MS);
  return {
    ...core,
    killControlPlane: () => stopPlane('SIGKILL'),
    async startControlPlane() {
      const again = await start();
      if (again.apiUrl !== plane.apiUrl)
        throw new Error(`the API moved from ${plane.apiUrl} to ${again.apiUrl}`);
    },
    controlPlanePid: () => child?.pid,
  };
}
