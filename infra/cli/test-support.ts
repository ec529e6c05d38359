/** For tests that run the real `wms` process. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const WMS_LAUNCHER = fileURLToPath(new URL('./wms.mjs', import.meta.url));
const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface WmsRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `wms <args>` as its own process with this process's environment plus `env`. */
export function runWms(
  args: readonly string[],
  env: Record<string, string | undefined> = {},
): Promise<WmsRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WMS_LAUNCHER, ...args], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The JSON a `--json` command printed, or a failure that shows what it printed instead. */
export function jsonOf(run: WmsRun): unknown {
  if (run.code !== 0) throw new Error(`wms exited ${run.code}: ${run.stderr}${run.stdout}`);
  return JSON.parse(run.stdout);
}

export interface RunningDashboard {
  /** `http://127.0.0.1:<port>/dashboard`. */
  url: string;
  /** SIGTERM, then its exit code. */
  stop(): Promise<number | null>;
}

/** Starts `wms dashboard --port 0` and waits for the URL it prints. */
export function startWmsDashboard(env: Record<string, string | undefined>): Promise<RunningDashboard> {
  const child = spawn(process.execPath, [WMS_LAUNCHER, 'dashboard', '--port', '0'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const url = /Dashboard: (http:\/\/127\.0\.0\.1:\d+\/dashboard)/.exec(output)?.[1];
      if (url === undefined) return;
      child.stdout.off('data', onData);
      resolve({
        url,
        async stop() {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          return exited;
        },
      });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    void exited.then((code) => reject(new Error(`wms dashboard exited ${code} before serving: ${output}`)));
  });
}
