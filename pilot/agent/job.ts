import { appendFile, chown, constants, mkdir, open, readdir, rm, stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { S3Client } from '@aws-sdk/client-s3';
import { type JobMessage, type JobProgressMessage, JobResultMessage } from '../../events/index.js';
import {
  ERRORS,
  type ErrorEntry,
  errorForPayloadExit,
  type PayloadKillReason,
} from '../../shared/errors/index.js';
import { compareNames } from '../../shared/ids/index.js';
import {
  FileName,
  type JobPhase,
  LIMITS,
  ObjectKey,
  type OutputFile,
  printableName,
} from '../../shared/model/index.js';
import { expandArgs } from './args.js';
import { PayloadCgroup, payloadCgroupName } from './cgroups.js';
import type { PilotConfig } from './config.js';
import { ERROR_MESSAGE_MAX_LENGTH, JOB_DIRS, JOB_LOG_FILE } from './constants.js';
import { errorForSpawnFailure, JobFailure, StageOutError } from './errors.js';
import type { PayloadIsolation } from './isolation.js';
import { diskUsage, memoryLimitFor } from './limits.js';
import { resolveInside } from './paths.js';
import { type PayloadOutcome, type PayloadProcess, payloadEnvironment, startPayload } from './payload.js';
import type { Slot } from './resources.js';
import { downloadInput, uploadFile } from './staging.js';

/** What a job needs from the pilot. */
export interface JobServices {
  s3: S3Client;
  config: PilotConfig;
  pilotId: string;
  nodeHasGpus: boolean;
  logger: Logger;
  /** The payloads' users by slot and the cgroups they run in. */
  isolation: PayloadIsolation;
  sendProgress(message: JobProgressMessage): void;
  /** Resolves once the result is spooled (durable) and queued for sending; never rejects. */
  sendResult(result: JobResultMessage): Promise<void>;
  /** Called once the payload has ended or will not run: the job no longer needs its slot. */
  releaseSlot(): void;
}

/** The log keeps room for the pilot's own lines after the payload's output. */
const LOG_RESERVED_BYTES = 16 * 1024;
/** The command line as the log shows it, cut to this many characters. */
const LOGGED_COMMAND_MAX_LENGTH = 4096;

/** The size of a file, 0 when it does not exist. */
async function sizeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}

/** Why the pilot stops a job before it ends by itself; `dropped` reports nothing at all. */
export type JobStopReason = Exclude<PayloadKillReason, 'walltime' | 'disk-quota'> | 'dropped';

/** What a stopped payload is killed for; a dropped job's is never reported. */
function payloadKillReason(reason: JobStopReason): PayloadKillReason {
  return reason === 'dropped' ? 'shutdown' : reason;
}

/**
 * The directories and files of one job attempt. The job's directory belongs to its payload;
 * its log is the pilot's, beside it, where the payload can neither write nor replace it.
 */
export function jobPaths(workDir: string, job: Pick<JobMessage, 'jobId' | 'attempt'>) {
  const root = path.join(path.resolve(workDir), `${job.jobId}.${job.attempt}`);
  return {
    root,
    input: path.join(root, JOB_DIRS.input),
    output: path.join(root, JOB_DIRS.output),
    log: `${root}.${JOB_LOG_FILE}`,
  };
}

/** The name a job's log is stored under in its log dataset. */
export function logFileName(job: Pick<JobMessage, 'jobId' | 'attempt'>): string {
  return `${job.jobId}.${job.attempt}.log`;
}

/** `<prefix>/<name>`, checked to be a valid object key. */
export function objectKeyFor(prefix: string, name: string): string {
  const key = `${prefix}/${name}`;
  const parsed = ObjectKey.safeParse(key);
  if (!parsed.success) {
    throw new StageOutError(
      ERRORS.STAGE_OUT_INVALID_OUTPUT,
      `object key for ${JSON.stringify(name)} is invalid`,
    );
  }
  return key;
}

/**
 * One claimed job attempt, from its work directory to its result: stage-in, payload,
 * stage-out, the log (always uploaded) and the result (always reported, unless the pilot was
 * told the job is no longer its own). A stop from outside (kill command, pilot shutdown)
 * aborts whatever phase the job is in.
 */
export class RunningJob {
  phase: JobPhase = 'CLAIMED';
  readonly #phaseTimes: Partial<Record<JobPhase, string>> = {};
  readonly #abort = new AbortController();
  #stopReason: JobStopReason | null = null;
  #payload: PayloadProcess | null = null;
  /** What the work directory used when the payload was killed for its quota. */
  #diskUsedAtKill: number | null = null;
  readonly #logger: Logger;

  constructor(
    readonly job: JobMessage,
    readonly claimToken: string,
    readonly slot: Slot,
    private readonly services: JobServices,
  ) {
    this.#logger = services.logger.createChild({
      persistentKeys: { jobId: job.jobId, taskId: job.taskId, attempt: job.attempt },
    });
  }

  /** The payload's process (and process group) id once it runs. */
  get payloadPid(): number | undefined {
    return this.#payload?.pid;
  }

  /** Stops the job; the first reason is the one reported. Idempotent. */
  stop(reason: JobStopReason): void {
    if (this.#stopReason !== null) return;
    this.#stopReason = reason;
    this.#logger.info('stopping job', { reason, phase: this.phase });
    this.#abort.abort();
    this.#payload?.kill(payloadKillReason(reason));
  }

  /** Runs the job to its end. Never throws: every failure becomes the job's result. */
  async run(): Promise<void> {
    const startedAt = Date.now();
    const { config } = this.services;
    const paths = jobPaths(config.workDir, this.job);
    let entry: ErrorEntry = ERRORS.OK;
    let detail: string | undefined;
    let exit: PayloadOutcome | null = null;
    let outputs: OutputFile[] = [];
    this.#enterPhase('CLAIMED');
    try {
      await this.#removeWorkDir(paths);
      await mkdir(paths.input, { recursive: true, mode: 0o700 });
      await mkdir(paths.output);
      const identity = this.#identity();
      if (identity !== null) {
        for (const dir of [paths.root, paths.input, paths.output])
          await chown(dir, identity.uid, identity.gid);
      }
      await this.#log(
        paths.log,
        `job ${this.job.jobId} attempt ${this.job.attempt} on pilot ${this.services.pilotId}`,
      );
      // Stage-out needs no core or GPU: the slot takes the next payload while this one uploads.
      exit = await this.#stageInAndExecute(paths).finally(() => this.services.releaseSlot());
      entry = exit.spawnError === null ? errorForPayloadExit(exit) : errorForSpawnFailure(exit.spawnError);
      // Killed by its cgroup's out-of-memory killer: whatever the process reported.
      if (entry !== ERRORS.OK && exit.killedFor === null && exit.oomKills > 0) {
        entry = ERRORS.PAYLOAD_MEMORY_LIMIT;
        detail = `${exit.oomKills} process(es) killed at the memory limit of ${this.#memoryLimit()} bytes`;
      }
      if (exit.killedFor === 'disk-quota') {
        detail = `work directory used ${this.#diskUsedAtKill} bytes, more than its quota of ${config.limits.workDirBytes} bytes beyond its inputs`;
      }
      if (exit.spawnError !== null) detail = `cannot start ${this.job.executable}: ${exit.spawnError}`;
      this.#enterPhase('STAGE_OUT');
      if (entry === ERRORS.OK) outputs = await this.#uploadOutputs(paths.output);
    } catch (error) {
      ({ entry, detail } = this.#failureOf(error));
    }
    if (this.#stopReason === 'dropped') {
      await this.#removeWorkDir(paths);
      return;
    }
    const log = await this.#uploadLog(paths.log, entry, detail, exit);
    if (log.file) {
      outputs.push(log.file);
    } else if (entry === ERRORS.OK) {
      entry = ERRORS.STAGE_OUT_UPLOAD_FAILED;
      detail = log.error;
    }
    await this.#report(entry, detail, exit, outputs, Date.now() - startedAt);
    await this.#removeWorkDir(paths);
  }

  async #stageInAndExecute(paths: ReturnType<typeof jobPaths>): Promise<PayloadOutcome> {
    const { config, s3 } = this.services;
    const inputPaths = this.job.inputs.map((file) => resolveInside(paths.input, file.name));
    const args = expandArgs(this.job.args, {
      inputPaths,
      outputDir: paths.output,
      jobId: this.job.jobId,
      taskId: this.job.taskId,
      attempt: this.job.attempt,
    });
    this.#enterPhase('STAGE_IN');
    await this.#checkDiskSpace(paths.input);
    for (const file of this.job.inputs) {
      this.#throwIfStopped();
      await downloadInput(s3, file, paths.input, {
        rangedThresholdBytes: config.staging.rangedDownloadThresholdBytes,
        partBytes: config.staging.rangedDownloadPartBytes,
        parallelism: config.staging.downloadParallelism,
        signal: this.#abort.signal,
      });
    }
    this.#throwIfStopped();
    this.#enterPhase('EXECUTING');
    const command = JSON.stringify([this.job.executable, ...args]);
    await this.#log(paths.log, `exec ${command.slice(0, LOGGED_COMMAND_MAX_LENGTH)}`);
    const identity = this.#identity();
    const env = payloadEnvironment(
      process.env,
      { ...this.job, inputDir: paths.input, outputDir: paths.output },
      {
        nodeHasGpus: this.services.nodeHasGpus,
        gpuIndex: this.job.device === 'GPU' ? this.slot.gpuIndex : null,
      },
    );
    if (identity !== null)
      Object.assign(env, { HOME: paths.root, USER: identity.user, LOGNAME: identity.user });
    const memoryLimit = this.#memoryLimit();
    const cgroup = await PayloadCgroup.create(
      this.services.isolation.cgroups,
      payloadCgroupName(this.job.jobId, this.job.attempt),
      memoryLimit,
    );
    try {
      const logSoFar = (await sizeOf(paths.log)) + LOG_RESERVED_BYTES;
      this.#payload = await startPayload({
        executable: this.job.executable,
        args,
        cwd: paths.root,
        env,
        logPath: paths.log,
        logCapBytes: Math.max(0, config.limits.logBytes - logSoFar),
        wallTimeMs: Math.min(this.job.wallTimeSeconds, config.wallTimeSeconds) * 1000,
        killGraceMs: config.killGraceSeconds * 1000,
        identity,
        cgroup,
      });
      // A stop that came while the payload was being started.
      if (this.#stopReason !== null) this.#payload.kill(payloadKillReason(this.#stopReason));
      this.#logger.info('payload started', {
        pid: this.#payload.pid,
        slot: this.slot.index,
        user: identity?.user ?? null,
        cgroup: cgroup?.tracking.dir ?? null,
        memoryLimit,
      });
      const stopWatching = this.#watchDiskQuota(paths.root, this.#payload);
      return await this.#payload.outcome.finally(stopWatching);
    } finally {
      await cgroup?.remove().catch((error) => this.#logger.error('payload cgroup not removed', { error }));
    }
  }

  /**
   * Measures the job's work directory while its payload runs and kills the payload once it
   * uses more than the site's quota beyond its inputs. Returns the function that stops it.
   */
  #watchDiskQuota(root: string, payload: PayloadProcess): () => void {
    const { workDirBytes, diskCheckIntervalSeconds } = this.services.config.limits;
    if (workDirBytes === undefined) return () => undefined;
    const allowed = workDirBytes + this.job.inputs.reduce((sum, file) => sum + file.size, 0);
    let measuring = false;
    const timer = setInterval(async () => {
      if (measuring) return;
      measuring = true;
      try {
        const used = await diskUsage(root);
        if (used > allowed && this.#diskUsedAtKill === null) {
          this.#diskUsedAtKill = used;
          this.#logger.warn('work directory over its quota', { used, allowed });
          payload.kill('disk-quota');
        }
      } finally {
        measuring = false;
      }
    }, diskCheckIntervalSeconds * 1000);
    return () => clearInterval(timer);
  }

  async #checkDiskSpace(dir: string): Promise<void> {
    const needed = this.job.inputs.reduce((sum, file) => sum + file.size, 0);
    const stats = await statfs(dir);
    const free = stats.bavail * stats.bsize;
    if (free < needed) {
      throw new JobFailure(ERRORS.PILOT_NO_DISK_SPACE, `inputs need ${needed} bytes, ${free} free in ${dir}`);
    }
  }

  /**
   * Every regular file the payload left in `out/`, uploaded to the output dataset's prefix.
   * `out/` is opened without following a symbolic link and read through that descriptor
   * (`/proc/self/fd/<fd>`), so a link the payload put in its place, or swaps in later, is
   * never followed; a link among the files fails the job as well.
   */
  async #uploadOutputs(outputDir: string): Promise<OutputFile[]> {
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(outputDir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ELOOP' || code === 'ENOTDIR' || code === 'ENOENT') {
        throw new JobFailure(
          ERRORS.PAYLOAD_OUTPUT_SYMLINK,
          `${JOB_DIRS.output}/ is not a directory of the job (${code}); nothing was read through it`,
        );
      }
      throw error;
    }
    try {
      return await this.#uploadOutputsIn(`/proc/self/fd/${handle.fd}`);
    } finally {
      await handle.close();
    }
  }

  async #uploadOutputsIn(outputDir: string): Promise<OutputFile[]> {
    const { s3, config } = this.services;
    const entries = (await readdir(outputDir, { withFileTypes: true })).sort((a, b) =>
      compareNames(a.name, b.name),
    );
    const link = entries.find((entry) => entry.isSymbolicLink());
    if (link) {
      throw new JobFailure(
        ERRORS.PAYLOAD_OUTPUT_SYMLINK,
        `output ${JSON.stringify(link.name)} is a symbolic link; it was not followed`,
      );
    }
    const files = entries.filter((entry) => entry.isFile());
    for (const ignored of entries.filter((entry) => !entry.isFile())) {
      this.#logger.warn('output entry is not a regular file; not uploaded', { name: ignored.name });
    }
    if (files.length === 0)
      throw new JobFailure(ERRORS.PAYLOAD_OUTPUT_MISSING, `no output file in ${JOB_DIRS.output}/`);
    // One place of the result's outputs is the log's.
    if (files.length > LIMITS.outputsPerJob - 1) {
      throw new StageOutError(
        ERRORS.STAGE_OUT_INVALID_OUTPUT,
        `${files.length} output files, at most ${LIMITS.outputsPerJob - 1} allowed`,
      );
    }
    const outputs: OutputFile[] = [];
    for (const file of files) {
      const parsed = FileName.safeParse(file.name);
      if (!parsed.success) {
        throw new StageOutError(
          ERRORS.STAGE_OUT_INVALID_OUTPUT,
          `output name ${JSON.stringify(file.name)} is invalid`,
        );
      }
      // Registered and stored under its NFC spelling, the one the control plane keeps.
      const name = parsed.data;
      if (outputs.some((output) => output.name === name)) {
        throw new StageOutError(
          ERRORS.STAGE_OUT_INVALID_OUTPUT,
          `two output files are named ${printableName(name)} in different Unicode spellings`,
        );
      }
      const location = {
        bucket: this.job.output.bucket,
        key: objectKeyFor(this.job.output.prefix, name),
      };
      const uploaded = await uploadFile(s3, outputDir, file.name, location, {
        partBytes: config.staging.uploadPartBytes,
        parallelism: config.staging.uploadParallelism,
        checksumHeader: config.staging.uploadChecksumHeader,
        signal: this.#abort.signal,
      });
      // Replaced by something other than a regular file since it was listed.
      if (uploaded === null)
        throw new StageOutError(ERRORS.STAGE_OUT_INVALID_OUTPUT, `${file.name} changed type`);
      outputs.push({ name, kind: 'output', location, ...uploaded });
    }
    return outputs;
  }

  /** The log goes to the log dataset whatever happened; it is not cancelled by a stop. */
  async #uploadLog(
    logPath: string,
    entry: ErrorEntry,
    detail: string | undefined,
    exit: PayloadOutcome | null,
  ): Promise<{ file: OutputFile; error?: undefined } | { file?: undefined; error: string }> {
    const { s3, config } = this.services;
    const name = logFileName(this.job);
    try {
      const ending = exit ? `exit code ${exit.exitCode}, signal ${exit.signal}` : 'payload not run';
      await this.#log(
        logPath,
        `ended: ${ending}; error ${entry.code} ${entry.name}${detail ? `: ${detail}` : ''}`,
      );
      const location = { bucket: this.job.log.bucket, key: objectKeyFor(this.job.log.prefix, name) };
      const uploaded = await uploadFile(s3, path.dirname(logPath), path.basename(logPath), location, {
        partBytes: config.staging.uploadPartBytes,
        parallelism: config.staging.uploadParallelism,
        checksumHeader: config.staging.uploadChecksumHeader,
      });
      if (uploaded === null) return { error: 'the job log is not a regular file' };
      return { file: { name, kind: 'log', location, ...uploaded } };
    } catch (error) {
      this.#logger.error('job log upload failed', { error });
      return { error: `log upload failed: ${(error as Error).message}` };
    }
  }

  async #report(
    entry: ErrorEntry,
    detail: string | undefined,
    exit: PayloadOutcome | null,
    outputs: OutputFile[],
    wallMs: number,
  ): Promise<void> {
    const message = detail ?? (entry === ERRORS.OK ? undefined : entry.message);
    const result = JobResultMessage.parse({
      type: 'job.result',
      jobId: this.job.jobId,
      taskId: this.job.taskId,
      attempt: this.job.attempt,
      pilotId: this.services.pilotId,
      claimToken: this.claimToken,
      at: new Date().toISOString(),
      outcome: entry === ERRORS.OK ? 'DONE' : 'FAILED',
      errorCode: entry.code,
      ...(message !== undefined && { errorMessage: message.slice(0, ERROR_MESSAGE_MAX_LENGTH) }),
      ...(exit?.exitCode != null && { exitCode: exit.exitCode }),
      ...(exit?.signal != null && { signal: exit.signal }),
      outputs,
      phaseTimes: this.#phaseTimes,
      wallMs,
    });
    this.#logger.info('job finished', {
      outcome: result.outcome,
      errorCode: result.errorCode,
      errorName: entry.name,
      exitCode: result.exitCode,
      signal: result.signal,
      wallMs,
    });
    await this.services.sendResult(result);
  }

  #failureOf(error: unknown): { entry: ErrorEntry; detail: string | undefined } {
    if (this.#stopReason !== null && this.#stopReason !== 'dropped') {
      return {
        entry: errorForPayloadExit({ exitCode: null, signal: null, killedFor: this.#stopReason }),
        detail: `stopped in phase ${this.phase}`,
      };
    }
    if (error instanceof JobFailure) return { entry: error.entry, detail: error.message };
    this.#logger.error('unexpected error while running the job', { error });
    return { entry: ERRORS.PILOT_INTERNAL_ERROR, detail: (error as Error).message };
  }

  #throwIfStopped(): void {
    if (this.#stopReason !== null) throw new Error(`job stopped (${this.#stopReason})`);
  }

  #enterPhase(phase: JobPhase): void {
    const at = new Date().toISOString();
    this.phase = phase;
    this.#phaseTimes[phase] = at;
    this.services.sendProgress({
      type: 'job.progress',
      jobId: this.job.jobId,
      taskId: this.job.taskId,
      attempt: this.job.attempt,
      pilotId: this.services.pilotId,
      claimToken: this.claimToken,
      at,
      phase,
    });
  }

  async #log(logPath: string, line: string): Promise<void> {
    await appendFile(logPath, `[pilot ${new Date().toISOString()}] ${line}\n`, { mode: 0o600 });
  }

  async #removeWorkDir(paths: ReturnType<typeof jobPaths>): Promise<void> {
    try {
      await rm(paths.root, { recursive: true, force: true });
      await rm(paths.log, { force: true });
    } catch (error) {
      this.#logger.error('work directory could not be removed', { root: paths.root, error });
    }
  }

  #identity() {
    return this.services.isolation.identities[this.slot.index] ?? null;
  }

  #memoryLimit(): number | null {
    return memoryLimitFor(this.job.memoryBytes, this.services.config.limits);
  }
}
