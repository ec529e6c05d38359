import { spawn } from 'node:child_process';
import { open } from 'node:fs/promises';
import type { PayloadExit, PayloadKillReason } from '../../shared/errors/index.js';

/** How to run one payload. */
export interface PayloadSpec {
  executable: string;
  args: readonly string[];
  cwd: string;
  env: Readonly<Record<string, string>>;
  /** stdout and stderr both go here (appended). */
  logPath: string;
  wallTimeMs: number;
  killGraceMs: number;
}

/** How a payload ended; `spawnError` is the errno code when it never started. */
export interface PayloadOutcome extends PayloadExit {
  spawnError: string | null;
  startedAt: Date;
  endedAt: Date;
}

/** A started payload. */
export interface PayloadProcess {
  /** Process id, which is also the id of the payload's own process group. */
  readonly pid: number | undefined;
  /**
   * SIGTERM to the whole process group, SIGKILL after the grace period. Idempotent; the
   * first reason is the one reported.
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

// Variables the pilot itself is configured by; a payload must not see the pilot's credentials.
const PILOT_ONLY_ENV = /^(AWS_|WMS_PILOT_)/;

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
 * Starts a payload without a shell, in its own process group (`detached`), with stdout and
 * stderr appended to its log. The wall-time limit kills it like a kill command does. When the
 * payload's main process ends, whatever it left running in its group is killed too.
 */
export async function startPayload(spec: PayloadSpec): Promise<PayloadProcess> {
  const log = await open(spec.logPath, 'a');
  const startedAt = new Date();
  let killedFor: PayloadKillReason | null = null;
  let exited = false;
  let graceTimer: NodeJS.Timeout | undefined;
  let wallTimer: NodeJS.Timeout | undefined;
  const child = (() => {
    try {
      return spawn(spec.executable, [...spec.args], {
        cwd: spec.cwd,
        env: spec.env,
        stdio: ['ignore', log.fd, log.fd],
        detached: true,
        shell: false,
      });
    } finally {
      // The child holds its own copies of the descriptor.
      void log.close();
    }
  })();
  const pid = child.pid;

  const outcome = new Promise<PayloadOutcome>((resolve) => {
    const finish = (exitCode: number | null, signal: string | null, spawnError: string | null) => {
      if (exited) return;
      exited = true;
      clearTimeout(wallTimer);
      clearTimeout(graceTimer);
      if (pid !== undefined) signalGroup(pid, 'SIGKILL');
      resolve({ exitCode, signal, killedFor, spawnError, startedAt, endedAt: new Date() });
    };
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (pid === undefined) finish(null, null, error.code ?? 'UNKNOWN');
    });
    child.once('exit', (code, signal) => finish(code, signal, null));
  });

  const kill = (reason: PayloadKillReason): void => {
    if (exited || pid === undefined || killedFor !== null) return;
    killedFor = reason;
    signalGroup(pid, 'SIGTERM');
    graceTimer = setTimeout(() => signalGroup(pid, 'SIGKILL'), spec.killGraceMs);
  };
  if (!exited) wallTimer = setTimeout(() => kill('walltime'), spec.wallTimeMs);

  return { pid, kill, outcome };
}
