import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { credentialsFileEnv } from '../../infra/local/index.js';
import { bundleEntry } from '../release/bundle.js';

const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const PILOT_MAIN = fileURLToPath(new URL('../agent/main.ts', import.meta.url));

/** How long after its exit a process's output may still be read before it counts as exited. */
const OUTPUT_DRAIN_MS = 2_000;

/** One structured log line of a pilot (Powertools JSON). */
export type LogLine = Record<string, unknown> & { level: string; message: string };

/** A pilot (or daemon) running as a separate process, its JSON log lines collected. */
export class LoggingProcess {
  readonly lines: LogLine[] = [];
  readonly rawOutput: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly #child: ChildProcessByStdio<null, Readable, Readable>;
  #hasExited = false;

  constructor(command: string, args: readonly string[], env: NodeJS.ProcessEnv) {
    this.#child = spawn(command, [...args], { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [this.#child.stdout, this.#child.stderr]) {
      let partial = '';
      stream.on('data', (chunk: Buffer) => {
        const parts = (partial + chunk.toString('utf8')).split('\n');
        partial = parts.pop() ?? '';
        for (const line of parts) this.#take(line);
      });
      stream.on('end', () => this.#take(partial));
    }
    // 'close' comes once the output is read to its end, so every line is taken by then; unless
    // a process the child started still holds its output open (a daemon's pilot, say).
    this.exited = new Promise((resolve) => {
      const done = (code: number | null, signal: NodeJS.Signals | null) => {
        this.#hasExited = true;
        resolve({ code, signal });
      };
      this.#child.once('close', done);
      this.#child.once('exit', (code, signal) =>
        setTimeout(() => done(code, signal), OUTPUT_DRAIN_MS).unref(),
      );
    });
  }

  get hasExited(): boolean {
    return this.#hasExited;
  }

  get pid(): number {
    return this.#child.pid!;
  }

  kill(signal: NodeJS.Signals): void {
    this.#child.kill(signal);
  }

  /** The first log line matching, waiting for it up to `timeoutMs`. */
  async waitForLine(predicate: (line: LogLine) => boolean, timeoutMs = 20_000): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find(predicate);
      if (found) return found;
      if (Date.now() > deadline) {
        throw new Error(`no matching log line within ${timeoutMs} ms; output:\n${this.rawOutput.join('\n')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Waits for the exit; kills the process (SIGKILL) if it has not exited within `timeoutMs`. */
  async exit(timeoutMs = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  #take(line: string): void {
    if (line.trim() === '') return;
    this.rawOutput.push(line);
    try {
      const parsed = JSON.parse(line) as LogLine;
      if (typeof parsed === 'object' && parsed !== null && typeof parsed.message === 'string')
        this.lines.push(parsed);
    } catch {
      // Not a log line (a payload's or npm's output): kept in rawOutput only.
    }
  }
}

/** The pilot as a release ships it (one ES module, as `publish.ts` bundles it), written into `dir`. */
export async function buildPilotBundle(dir: string): Promise<string> {
  const file = path.join(dir, 'spd-wms-pilot.mjs');
  await writeFile(file, await bundleEntry(PILOT_MAIN));
  return file;
}

/**
 * Starts a pilot with the Node running the tests: `entry` is `pilot/agent/main.ts` (from
 * source, through tsx) or a bundle from `buildPilotBundle`. Its AWS credentials are in a file
 * beside its configuration.
 */
export function startPilot(
  configFile: string,
  env: NodeJS.ProcessEnv = {},
  entry: string = PILOT_MAIN,
): LoggingProcess {
  const command = entry.endsWith('.ts') ? ['--import', 'tsx', entry] : [entry];
  const pilotEnv = credentialsFileEnv(path.dirname(configFile), { ...process.env, ...env }).env;
  return new LoggingProcess(process.execPath, [...command, '--config', configFile], pilotEnv);
}
