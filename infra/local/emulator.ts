/**
 * The embedded AWS emulator: a moto server on loopback, started and stopped by this process.
 * moto serves SQS, DynamoDB + Streams, S3 and EventBridge in memory on one endpoint.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

export interface EmulatorOptions {
  /** A fixed port; by default a free loopback port is picked. */
  port?: number;
  host?: string;
  /** How long moto may take to answer its health check. */
  startTimeoutMs?: number;
  /** Between SIGTERM and SIGKILL on stop. */
  stopGraceMs?: number;
  /** Where MOTO_SERVER_BIN is read; process.env by default. */
  env?: Readonly<Record<string, string | undefined>>;
}

export interface Emulator {
  endpoint: string;
  host: string;
  port: number;
  /** The moto server process. */
  pid: number;
  /** The last lines moto wrote, for diagnostics. */
  output(): string;
  /** Terminates moto (SIGTERM, then SIGKILL after the grace period) and waits for it to exit. */
  stop(): Promise<void>;
}

const DEFAULT_HOST = '127.0.0.1';
const DEFAULT_START_TIMEOUT_MS = 30_000;
const DEFAULT_STOP_GRACE_MS = 3_000;
const HEALTH_POLL_INTERVAL_MS = 100;
const KEPT_OUTPUT_LINES = 200;
const PORT_ATTEMPTS = 3;
const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * moto runs under a small shell that keeps this process's pipe open on fd 3: when this
 * process ends, however abruptly, the pipe closes, the watcher's `read` returns and it stops
 * moto, so no emulator outlives its owner. The shell prints moto's PID first and exits with
 * moto, so an early crash is seen at once.
 */
const SUPERVISOR_SCRIPT = [
  'exec 3<&0',
  '"$@" </dev/null &',
  'moto=$!',
  'echo "$moto"',
  '{ read -r _ <&3; kill -TERM "$moto" 2>/dev/null; } &',
  'watcher=$!',
  'wait "$moto"',
  'status=$?',
  'kill "$watcher" 2>/dev/null',
  'exit "$status"',
].join('\n');

/** The start of the line infra/local/moto/sitecustomize.py prints once its patches are applied. */
const PATCHED_MARKER = 'spd-wms: moto patched:';
/** The start of the patch's warnings (another moto than the pinned one), passed on to this process's stderr. */
const PATCH_WARNING = 'spd-wms: warning:';
/** On moto's PYTHONPATH, so Python loads the patch at start-up. */
const PATCH_DIRECTORY = fileURLToPath(new URL('./moto/', import.meta.url));

type SupervisorProcess = ChildProcessByStdio<Writable, Readable, Readable>;

/** MOTO_SERVER_BIN, else the project's .venv/bin/moto_server, else moto_server on PATH. */
export function motoServerBinary(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const configured = env.MOTO_SERVER_BIN;
  if (configured) return configured;
  const projectVenv = `${PROJECT_ROOT}.venv/bin/moto_server`;
  return existsSync(projectVenv) ? projectVenv : 'moto_server';
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not determine a free port'));
      });
    });
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

class OutputTail {
  readonly #lines: string[] = [];
  #partial = '';

  append(chunk: Buffer): void {
    const parts = (this.#partial + chunk.toString('utf8')).split('\n');
    this.#partial = parts.pop() ?? '';
    this.#lines.push(...parts);
    if (this.#lines.length > KEPT_OUTPUT_LINES) this.#lines.splice(0, this.#lines.length - KEPT_OUTPUT_LINES);
  }

  text(): string {
    return [...this.#lines, this.#partial].filter((line) => line !== '').join('\n');
  }
}

function readPid(supervisor: SupervisorProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const newline = buffered.indexOf('\n');
      if (newline < 0) return;
      supervisor.stdout.off('data', onData);
      supervisor.off('exit', onExit);
      const pid = Number(buffered.slice(0, newline));
      if (Number.isInteger(pid) && pid > 0) resolve(pid);
      else reject(new Error(`emulator supervisor printed no PID: ${buffered}`));
    };
    const onExit = () => reject(new Error('emulator supervisor exited before starting moto'));
    supervisor.stdout.on('data', onData);
    supervisor.once('exit', onExit);
    supervisor.once('error', reject);
  });
}

async function isHealthy(endpoint: string): Promise<boolean> {
  try {
    const response = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1_000) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone: nothing to signal.
  }
}

async function launch(
  binary: string,
  host: string,
  port: number,
  options: EmulatorOptions,
): Promise<Emulator> {
  const endpoint = `http://${host}:${port}`;
  const tail = new OutputTail();
  const inheritedPythonPath = process.env.PYTHONPATH;
  const pythonPath = inheritedPythonPath
    ? `${PATCH_DIRECTORY}${delimiter}${inheritedPythonPath}`
    : PATCH_DIRECTORY;
  const supervisor: SupervisorProcess = spawn(
    'sh',
    ['-c', SUPERVISOR_SCRIPT, 'moto-supervisor', binary, '-H', host, '-p', String(port)],
    { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, PYTHONPATH: pythonPath } },
  );
  // Seen in moto's own output: the patch loaded, and moto (not some other server) bound the port.
  const milestones = { patched: PATCHED_MARKER, listening: `Running on ${endpoint}` };
  const seen = { patched: false, listening: false };
  supervisor.stderr.on('data', (chunk: Buffer) => {
    tail.append(chunk);
    for (const key of ['patched', 'listening'] as const) {
      if (!seen[key]) seen[key] = tail.text().includes(milestones[key]);
    }
  });
  // The pipe only exists to close when this process ends; a write error just means moto is gone.
  supervisor.stdin.on('error', () => {});
  const exited = new Promise<void>((resolve) => supervisor.once('exit', () => resolve()));
  let supervisorRunning = true;
  void exited.then(() => {
    supervisorRunning = false;
  });

  const pid = await readPid(supervisor);
  supervisor.stdout.on('data', (chunk: Buffer) => tail.append(chunk));
  const graceMs = options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS;

  const stop = async (): Promise<void> => {
    supervisor.stdin.end();
    signal(pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while ((isAlive(pid) || supervisorRunning) && Date.now() < deadline) await delay(50);
    if (isAlive(pid)) signal(pid, 'SIGKILL');
    if (supervisorRunning) supervisor.kill('SIGKILL');
    await exited;
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS);
  while (!(seen.listening && (await isHealthy(endpoint)))) {
    if (!supervisorRunning || !isAlive(pid)) {
      await stop();
      throw new Error(`moto server (${binary}) exited before it was healthy on ${endpoint}:\n${tail.text()}`);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`moto server (${binary}) was not healthy on ${endpoint} in time:\n${tail.text()}`);
    }
    await delay(HEALTH_POLL_INTERVAL_MS);
  }
  // The patch's marker is written at interpreter start, before moto listens; a moto the patch
  // refuses exits with the reason, which the error above carries.
  if (!seen.patched) {
    await stop();
    throw new Error(
      `moto server (${binary}) did not load the patch in infra/local/moto (is it a moto server on Python?):\n${tail.text()}`,
    );
  }
  for (const line of tail.text().split('\n')) {
    if (line.startsWith(PATCH_WARNING)) process.stderr.write(`${line}\n`);
  }
  return { endpoint, host, port, pid, output: () => tail.text(), stop };
}

/**
 * Starts moto on loopback and waits until it answers. With no fixed port, a free one is
 * picked; if another process takes it first, a new port is tried.
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const host = options.host ?? DEFAULT_HOST;
  const binary = motoServerBinary(options.env);
  if (options.port !== undefined) return launch(binary, host, options.port, options);
  let lastError: unknown;
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt += 1) {
    try {
      return await launch(binary, host, await freePort(host), options);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

/** Empties every service of the emulator (moto's reset API). */
export async function resetEmulator(endpoint: string): Promise<void> {
  const response = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
  await response.body?.cancel();
  if (!response.ok) throw new Error(`emulator reset failed: HTTP ${response.status}`);
}

/** The credentials and region the emulator is used with; it accepts any. */
const EMULATOR_CREDENTIALS = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' };
const EMULATOR_REGION = 'us-east-1';

/**
 * Points this process's AWS clients, and the processes it starts, at the emulator through the
 * standard variables only: one endpoint for every service, path-style S3, the emulator's
 * credentials and region, no profile or session token of the caller's.
 */
export function useEmulatorEndpoint(endpoint: string): void {
  for (const name of Object.keys(process.env)) {
    if (name.startsWith('AWS_ENDPOINT_URL_')) delete process.env[name];
  }
  Object.assign(process.env, EMULATOR_CREDENTIALS, {
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: EMULATOR_REGION,
    AWS_S3_FORCE_PATH_STYLE: 'true',
  });
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
}
