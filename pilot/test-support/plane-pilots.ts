/**
 * Pilot processes on the real control plane (the stack on the embedded runtime), each run from
 * the release bundle with a configuration file, a work and a spool directory of its own, as on
 * a node. A GPU node gets a fake `nvidia-smi` on its PATH. `cleanup()` ends what a test left
 * running: pilots (SIGKILL) and the payload process groups they started.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ControlPlane } from '../../test/support/index.js';
import { type LoggingProcess, type LogLine, startPilot } from './pilot-process.js';
import { queueUrlOf } from './plane-tasks.js';
import { killGroup, liveGroupMembers } from './processes.js';

/** What every test pilot has unless it says otherwise: quick polls, heartbeats and stops. */
const QUICK_SETTINGS = {
  pollWaitSeconds: 1,
  heartbeatIntervalSeconds: 1,
  killGraceSeconds: 1,
  shutdownGraceSeconds: 1,
  // The scenarios' payloads write where the tests look: they run as the pilot, which says so in
  // its record. Isolated payloads have tests of their own (payloadUser set).
  allowSameUserPayloads: true,
} as const;

export interface PlanePilotOptions {
  /** Names the pilot's directories; a second start under the same name is a restart on the same node. */
  name: string;
  slots?: number;
  /** GPU indexes the node's `nvidia-smi` lists: the pilot finds itself on a GPU node. */
  gpus?: readonly number[];
  /** Further settings (pilot/agent/config.ts), over the quick ones. */
  settings?: Record<string, unknown>;
  /** Where the pilot reaches the API (e.g. a proxy); the control plane's URL by default. */
  apiUrl?: string;
  /** Where the pilot reaches SQS (e.g. a proxy in front of the emulator); S3 stays direct. */
  sqsEndpoint?: string;
  /** Where the pilot reaches S3 (e.g. a proxy in front of the emulator). */
  s3Endpoint?: string;
}

/** A payload as its pilot logged its start. */
export interface StartedPayload {
  jobId: string;
  taskId: string;
  attempt: number;
  /** Process id, also the id of the payload's own process group. */
  pid: number;
}

/** One pilot process and what its log says. */
export class PlanePilot {
  constructor(
    readonly name: string,
    readonly process: LoggingProcess,
    /** Its configuration, work and spool directories. */
    readonly home: string,
  ) {}

  get workDir(): string {
    return path.join(this.home, 'work');
  }

  get spoolDir(): string {
    return path.join(this.home, 'spool');
  }

  /** Its id, once it registered with the control plane. */
  async pilotId(timeoutMs = 30_000): Promise<string> {
    const line = await this.process.waitForLine((entry) => entry.message === 'pilot registered', timeoutMs);
    return String(line.pilotId);
  }

  /** The first log line with this message (and these fields), waiting for it. */
  waitFor(message: string, fields: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<LogLine> {
    return this.process.waitForLine(
      (line) =>
        line.message === message && Object.entries(fields).every(([key, value]) => line[key] === value),
      timeoutMs,
    );
  }

  /** Log lines with this message. */
  linesOf(message: string): LogLine[] {
    return this.process.lines.filter((line) => line.message === message);
  }

  /** Job ids it claimed, in order. */
  claimedJobs(): string[] {
    return this.linesOf('job claimed').map((line) => String(line.jobId));
  }

  payloads(): StartedPayload[] {
    return this.linesOf('payload started').map((line) => ({
      jobId: String(line.jobId),
      taskId: String(line.taskId),
      attempt: Number(line.attempt),
      pid: Number(line.pid),
    }));
  }

  /** Its AWS calls as it logs them at exit, `service:operation` → calls: SDK calls and API requests. */
  awsCalls(): { sdk: Record<string, number>; api: Record<string, number> } {
    const line = this.linesOf('AWS API calls')[0];
    if (!line) throw new Error(`pilot ${this.name} logged no AWS call count; did it exit cleanly?`);
    type Counts = { service: string; operation: string; calls: number }[];
    const byName = (counts: Counts) =>
      Object.fromEntries(counts.map((entry) => [`${entry.service}:${entry.operation}`, entry.calls]));
    return { sdk: byName(line.calls as Counts), api: byName(line.apiCalls as Counts) };
  }
}

/** Pilots of one suite against one control plane. */
export class PilotFleet {
  readonly #started: PlanePilot[] = [];

  constructor(
    private readonly plane: ControlPlane,
    /** Where the pilots' directories go. */
    private readonly root: string,
    /** The pilot's entry: a release bundle (or main.ts). */
    private readonly entry: string,
  ) {}

  async start(options: PlanePilotOptions): Promise<PlanePilot> {
    const home = path.join(this.root, options.name);
    await mkdir(home, { recursive: true });
    const { plane } = this;
    const viaSqs = (url: string) =>
      options.sqsEndpoint === undefined ? url : url.replace(new URL(url).origin, options.sqsEndpoint);
    const configFile = path.join(home, 'pilot.json');
    await writeFile(
      configFile,
      JSON.stringify({
        apiUrl: options.apiUrl ?? plane.apiUrl,
        region: plane.region,
        jobQueueUrls: {
          CPU: viaSqs(queueUrlOf(plane, 'jobsCpu')),
          GPU: viaSqs(queueUrlOf(plane, 'jobsGpu')),
        },
        statusQueueUrl: viaSqs(queueUrlOf(plane, 'status')),
        workDir: path.join(home, 'work'),
        spoolDir: path.join(home, 'spool'),
        ...(options.gpus === undefined && { device: 'CPU' }),
        ...(options.slots !== undefined && { slots: options.slots }),
        ...QUICK_SETTINGS,
        ...options.settings,
      }),
    );
    // Each pilot signs with its own key, as each node does with its own identity.
    const key = plane.runtime.mintCredentials();
    const env: NodeJS.ProcessEnv = {
      AWS_ACCESS_KEY_ID: key.accessKeyId,
      AWS_SECRET_ACCESS_KEY: key.secretAccessKey,
    };
    if (options.gpus !== undefined) {
      env.PATH = `${await fakeNvidiaSmi(path.join(home, 'bin'), options.gpus)}:${process.env.PATH}`;
    }
    if (options.sqsEndpoint !== undefined) {
      env.AWS_ENDPOINT_URL = options.sqsEndpoint;
      env.AWS_ENDPOINT_URL_S3 = process.env.AWS_ENDPOINT_URL;
    }
    if (options.s3Endpoint !== undefined) env.AWS_ENDPOINT_URL_S3 = options.s3Endpoint;
    const pilot = new PlanePilot(options.name, startPilot(configFile, env, this.entry), home);
    this.#started.push(pilot);
    return pilot;
  }

  /**
   * Ends the pilots still running (SIGKILL), then the payload groups of every pilot that was
   * killed: a pilot that exits by itself has ended its payloads, one killed leaves them behind.
   * After a failed test, the pilots' output is printed to explain it.
   */
  async cleanup(testFailed: boolean): Promise<void> {
    for (const pilot of this.#started.splice(0)) {
      if (testFailed) console.log(`output of pilot ${pilot.name}:\n${pilot.process.rawOutput.join('\n')}`);
      if (!pilot.process.hasExited) pilot.process.kill('SIGKILL');
      const { signal } = await pilot.process.exited;
      if (signal !== 'SIGKILL') continue;
      for (const payload of pilot.payloads()) {
        if (liveGroupMembers(payload.pid).length > 0) killGroup(payload.pid);
      }
    }
  }
}

/** A directory with an `nvidia-smi` that lists these GPU indexes, as the pilot queries it. */
async function fakeNvidiaSmi(directory: string, indexes: readonly number[]): Promise<string> {
  await mkdir(directory, { recursive: true });
  const script = path.join(directory, 'nvidia-smi');
  await writeFile(script, `#!/bin/sh\nprintf '${indexes.map((index) => `${index}\\n`).join('')}'\n`);
  await chmod(script, 0o755);
  return directory;
}
