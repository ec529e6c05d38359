import { spawn } from 'node:child_process';
import { type FileHandle, open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { ERRORS, type PayloadExit, type PayloadKillReason } from '../../shared/errors/index.js';
import type { PayloadCgroup } from './cgroups.js';

/** The user and group a payload runs as (the pilot's own when the pilot runs payloads as itself). */
export interface PayloadIdentity {
  user: string;
  uid: number;
  gid: number;
}

/** How to run one payload. */
export interface PayloadSpec {
  executable: string;
  args: readonly string[];
  cwd: string;
  env: Readonly<Record<string, string>>;
  /** stdout and stderr both go here (appended) through the pilot, at most `logCapBytes` of them. */
  logPath: string;
  logCapBytes: number;
  wallTimeMs: number;
  killGraceMs: number;
  /** Runs the payload as this user, without supplementary groups; null: as the pilot. */
  identity: PayloadIdentity | null;
  /** The payload's cgroup, which it is in before it runs anything; null: its process group only. */
  cgroup: PayloadCgroup | null;
}

/** How a payload ended; `spawnError` is the errno code when it never started. */
export interface PayloadOutcome extends PayloadExit {
  spawnError: string | null;
  startedAt: Date;
  endedAt: Date;
  /** Processes of the payload the out-of-memory killer killed (its cgroup's count). */
  oomKills: number;
  /** Bytes of stdout and stderr written to the log, and dropped past the cap. */
  logBytes: number;
  logDroppedBytes: number;
}

/** A started payload. */
export interface PayloadProcess {
  /** Process id, which is also the id of the payload's own process group. */
  readonly pid: number | undefined;
  /**
   * SIGTERM to every process of the payload, SIGKILL to all of them (the whole cgroup) after
   * the grace period. Idempotent; the first reason is the one reported.
   */
  kill(reason: PayloadKillReason): void;
  readonly outcome: Promise<PayloadOutcome>;
}

/** Sends a signal to a process group; a group that is already gone is not an error. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/** Whether any process of the group still exists. */
export function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

// Variables the pilot itself is configured by; a payload must not see where the pilot's
// credentials are (systemd's CREDENTIALS_DIRECTORY) nor its AWS and pilot settings.
const PILOT_ONLY_ENV = /^(AWS_|WMS_PILOT_|CREDENTIALS_DIRECTORY$)/;

/**
 * The payload's environment: the pilot's own minus its credentials and settings, plus the
 * job's WMS_* variables and, on a GPU slot, CUDA_VISIBLE_DEVICES set to the slot's GPU (and
 * set empty on a GPU node's CPU job, so it cannot take a GPU another slot owns).
 */
export function payloadEnvironment(
  base: Readonly<Record<string, string | undefined>>,
  job: { jobId: string; taskId: string; attempt: number; inputDir: string; outputDir: string },
  gpu: { nodeHasGpus: boolean; gpuIndex: number | null },
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(base)) {
    if (value !== undefined && !PILOT_ONLY_ENV.test(name)) env[name] = value;
  }
  env.WMS_JOB_ID = job.jobId;
  env.WMS_TASK_ID = job.taskId;
  env.WMS_ATTEMPT = String(job.attempt);
  env.WMS_INPUT_DIR = job.inputDir;
  env.WMS_OUTPUT_DIR = job.outputDir;
  if (gpu.gpuIndex !== null) env.CUDA_VISIBLE_DEVICES = String(gpu.gpuIndex);
  else if (gpu.nodeHasGpus) env.CUDA_VISIBLE_DEVICES = '';
  return env;
}

/**
 * What the payload's first process runs before the payload: it waits for the pilot's word on
 * stdin (the pilot has moved it into its cgroup by then, so nothing it starts can escape), then
 * replaces itself by the payload. A fixed script: the job's executable and arguments are its
 * positional parameters, never part of a shell string. `exec` fails with 127 (not found) or
 * 126 (not executable), which map to the payload's codes.
 */
const GATE_SCRIPT = 'read -r go && [ "$go" = run ] || exit 125; exec "$@" </dev/null';
const GATE_NAME = 'spd-wms-payload';

/** How long the payload's output may still come after it ended and was killed. */
const OUTPUT_DRAIN_MS = 2_000;

/** The most chunks of output waiting to be written before the payload's pipes are paused. */
const LOG_QUEUE_CHUNKS = 16;

/**
 * The payload's stdout and stderr as they go to its log: at most `capBytes` are written, the
 * rest is counted and dropped, and a marker line at the end says how much.
 */
class CappedLog {
  #written = 0;
  #dropped = 0;
  #queued = 0;
  #writes: Promise<unknown> = Promise.resolve();
  readonly #paused = new Set<Readable>();

  constructor(
    private readonly handle: FileHandle,
    private readonly capBytes: number,
  ) {}

  take(stream: Readable): Promise<void> {
    return new Promise((resolve) => {
      stream.on('data', (chunk: Buffer) => this.#append(chunk, stream));
      stream.once('close', resolve);
    });
  }

  #append(chunk: Buffer, stream: Readable): void {
    const room = Math.max(0, this.capBytes - this.#written);
    const part = chunk.subarray(0, room);
    this.#dropped += chunk.length - part.length;
    if (part.length === 0) return;
    this.#written += part.length;
    this.#queued++;
    if (this.#queued > LOG_QUEUE_CHUNKS) {
      stream.pause();
      this.#paused.add(stream);
    }
    this.#writes = this.#writes.then(async () => {
      await this.handle.write(part);
      this.#queued--;
      if (this.#queued <= LOG_QUEUE_CHUNKS / 2) {
        for (const paused of this.#paused) paused.resume();
        this.#paused.clear();
      }
    });
  }

  /** Writes what is queued and the marker, if anything was dropped, and closes the log. */
  async close(): Promise<{ logBytes: number; logDroppedBytes: number }> {
    try {
      await this.#writes;
      if (this.#dropped > 0) {
        const { code, name } = ERRORS.PAYLOAD_LOG_TRUNCATED;
        await this.handle.write(
          `\n[pilot ${new Date().toISOString()}] log cap of ${this.capBytes} bytes reached: ` +
            `${this.#dropped} bytes of payload output dropped (${code} ${name})\n`,
        );
      }
    } finally {
      await this.handle.close();
    }
    return { logBytes: this.#written, logDroppedBytes: this.#dropped };
  }
}

/**
 * Starts a payload without a shell, as its own user (no supplementary groups), in its own
 * process group (`detached`) and cgroup, with stdout and stderr going through the pilot to its
 * log. The wall-time limit kills it like a kill command does. When the payload's main process
 * ends, whatever it left running in its cgroup (or group) is killed too, and the outcome waits
 * until nothing of it runs.
 */
export async function startPayload(spec: PayloadSpec): Promise<PayloadProcess> {
  const log = new CappedLog(await open(spec.logPath, 'a', 0o600), spec.logCapBytes);
  const startedAt = new Date();
  let killedFor: PayloadKillReason | null = null;
  let exited = false;
  let graceTimer: NodeJS.Timeout | undefined;
  let wallTimer: NodeJS.Timeout | undefined;
  const { cgroup } = spec;
  const child = spawn('/bin/sh', ['-c', GATE_SCRIPT, GATE_NAME, spec.executable, ...spec.args], {
    cwd: spec.cwd,
    env: spec.env,
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
    shell: false,
    ...(spec.identity && { uid: spec.identity.uid, gid: spec.identity.gid }),
  });
  const pid = child.pid;
  const outputs = Promise.all([log.take(child.stdout!), log.take(child.stderr!)]);
  child.stdin!.on('error', () => undefined);

  const killAll = async (): Promise<void> => {
    if (pid !== undefined) signalGroup(pid, 'SIGKILL');
    await cgroup?.kill();
  };
  const outcome = new Promise<PayloadOutcome>((resolve) => {
    const finish = async (exitCode: number | null, signal: string | null, spawnError: string | null) => {
      if (exited) return;
      exited = true;
      clearTimeout(wallTimer);
      clearTimeout(graceTimer);
      const endedAt = new Date();
      await killAll();
      // The pipes close once the last process holding them is gone; one that escaped a
      // process group (no cgroup) may hold them open for ever.
      if (spawnError === null) {
        await Promise.race([outputs, new Promise((wait) => setTimeout(wait, OUTPUT_DRAIN_MS))]);
      }
      child.stdout?.destroy();
      child.stderr?.destroy();
      const logged = await log.close();
      const oomKills = (await cgroup?.oomKills()) ?? 0;
      resolve({ exitCode, signal, killedFor, spawnError, startedAt, endedAt, oomKills, ...logged });
    };
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (pid === undefined) void finish(null, null, error.code ?? 'UNKNOWN');
    });
    child.once('exit', (code, signal) => void finish(code, signal, null));
  });

  const kill = (reason: PayloadKillReason): void => {
    if (exited || pid === undefined || killedFor !== null) return;
    killedFor = reason;
    signalGroup(pid, 'SIGTERM');
    void cgroup?.signal('SIGTERM');
    graceTimer = setTimeout(() => void killAll(), spec.killGraceMs);
  };

  if (pid !== undefined) {
    try {
      await cgroup?.add(pid);
    } catch (error) {
      // Never let a payload run outside the cgroup it was meant for.
      signalGroup(pid, 'SIGKILL');
      await outcome;
      throw error;
    }
    child.stdin!.end('run\n');
    if (!exited) wallTimer = setTimeout(() => kill('walltime'), spec.wallTimeMs);
  }
  return { pid, kill, outcome };
}
