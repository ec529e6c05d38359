import { appendFile, mkdir, readdir, rm, statfs } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { S3Client } from '@aws-sdk/client-s3';
import { type JobMessage, type JobProgressMessage, JobResultMessage } from '../../events/pilot.js';
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
import type { PilotConfig } from './config.js';
import { ERROR_MESSAGE_MAX_LENGTH, JOB_DIRS, JOB_LOG_FILE } from './constants.js';
import { errorForSpawnFailure, JobFailure, StageOutError } from './errors.js';
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
  sendProgress(message: JobProgressMessage): void;
  /** Resolves once the result is spooled (durable) and queued for sending; never rejects. */
  sendResult(result: JobResultMessage): Promise<void>;
  /** Called once the payload has ended or will not run: the job no longer needs its slot. */
  releaseSlot(): void;
}

/** Why the pilot stops a job before it ends by itself; `dropped` reports nothing at all. */
export type JobStopReason = Exclude<PayloadKillReason, 'walltime'> | 'dropped';

/** What a stopped payload is killed for; a dropped job's is never reported. */
function payloadKillReason(reason: JobStopReason): PayloadKillReason {
  return reason === 'dropped' ? 'shutdown' : reason;
}

/** The directories and files of one job attempt. */
export function jobPaths(workDir: string, job: Pick<JobMessage, 'jobId' | 'attempt'>) {
  const root = path.join(path.resolve(workDir), `${job.jobId}.${job.attempt}`);
  return {
    root,
    input: path.join(root, JOB_DIRS.input),
    output: path.join(root, JOB_DIRS.output),
    log: path.join(root, JOB_LOG_FILE),
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
    const paths = jobPaths(this.services.config.workDir, this.job);
    let entry: ErrorEntry = ERRORS.OK;
    let detail: string | undefined;
    let exit: PayloadOutcome | null = null;
    let outputs: OutputFile[] = [];
    this.#enterPhase('CLAIMED');
    try {
      await rm(paths.root, { recursive: true, force: true });
      await mkdir(paths.input, { recursive: true });
      await mkdir(paths.output);
      await this.#log(
        paths.log,
        `job ${this.job.jobId} attempt ${this.job.attempt} on pilot ${this.services.pilotId}`,
      );
      // Stage-out needs no core or GPU: the slot takes the next payload while this one uploads.
      exit = await this.#stageInAndExecute(paths).finally(() => this.services.releaseSlot());
      entry = exit.spawnError === null ? errorForPayloadExit(exit) : errorForSpawnFailure(exit.spawnError);
      if (exit.spawnError !== null) detail = `cannot start ${this.job.executable}: ${exit.spawnError}`;
      this.#enterPhase('STAGE_OUT');
      if (entry === ERRORS.OK) outputs = await this.#uploadOutputs(paths.output);
    } catch (error) {
      ({ entry, detail } = this.#failureOf(error));
    }
    if (this.#stopReason === 'dropped') {
      await this.#removeWorkDir(paths.root);
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
    await this.#removeWorkDir(paths.root);
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
    await this.#log(paths.log, `exec ${JSON.stringify([this.job.executable, ...args])}`);
    this.#payload = await startPayload({
      executable: this.job.executable,
      args,
      cwd: paths.root,
      env: payloadEnvironment(
        process.env,
        { ...this.job, inputDir: paths.input, outputDir: paths.output },
        {
          nodeHasGpus: this.services.nodeHasGpus,
          gpuIndex: this.job.device === 'GPU' ? this.slot.gpuIndex : null,
        },
      ),
      logPath: paths.log,
      wallTimeMs: Math.min(this.job.wallTimeSeconds, config.wallTimeSeconds) * 1000,
      killGraceMs: config.killGraceSeconds * 1000,
    });
    // A stop that came while the payload was being started.
    if (this.#stopReason !== null) this.#payload.kill(payloadKillReason(this.#stopReason));
    this.#logger.info('payload started', { pid: this.#payload.pid, slot: this.slot.index });
    return this.#payload.outcome;
  }

  async #checkDiskSpace(dir: string): Promise<void> {
    const needed = this.job.inputs.reduce((sum, file) => sum + file.size, 0);
    const stats = await statfs(dir);
    const free = stats.bavail * stats.bsize;
    if (free < needed) {
      throw new JobFailure(ERRORS.PILOT_NO_DISK_SPACE, `inputs need ${needed} bytes, ${free} free in ${dir}`);
    }
  }

  /** Every regular file the payload left in `out/`, uploaded to the output dataset's prefix. */
  async #uploadOutputs(outputDir: string): Promise<OutputFile[]> {
    const { s3, config } = this.services;
    const entries = (await readdir(outputDir, { withFileTypes: true })).sort((a, b) =>
      compareNames(a.name, b.name),
    );
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
    await appendFile(logPath, `[pilot ${new Date().toISOString()}] ${line}\n`);
  }

  async #removeWorkDir(root: string): Promise<void> {
    try {
      await rm(root, { recursive: true, force: true });
    } catch (error) {
      this.#logger.error('work directory could not be removed', { root, error });
    }
  }
}
