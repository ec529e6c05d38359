import { GetCommand, type TransactWriteItem, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import {
  AlreadyClaimedError,
  ConditionFailedError,
  NotFoundError,
  StaleAttemptError,
  StateConflictError,
  ValidationError,
} from '../errors/index.js';
import { newClaimToken } from '../ids/index.js';
import {
  type Device,
  type FileRecord,
  JOB_PHASES,
  type JobPhase,
  JobRecord,
  type JobState,
  LIMITS,
  OutputFile,
  PhaseTimes,
} from '../model/index.js';
import { assertTransition, isPhaseAdvance } from '../states/index.js';
import { IN_FLIGHT_JOB_STATES, TRANSACTION_ITEM_LIMIT } from './constants.js';
import {
  type BatchEntry,
  batchGet,
  conditionalWrite,
  type ItemRefusal,
  parseStored,
  queryPage,
  rejectDuplicates,
  timestamp,
  transactWrite,
  writeBatch,
} from './dynamo.js';
import { Expression } from './expressions.js';
import { FilesRepo } from './files.js';
import {
  closedDatasetRefusal,
  datasetCounterUpdate,
  fileKey,
  filePut,
  fileRecordOf,
  type RegisterFilesResult,
  takenNameOutcome,
} from './fileWrites.js';
import { JOBS_TABLE } from './tables.js';
import type {
  InFlightJobState,
  JobBatchResult,
  JobRef,
  JobRefusal,
  JobStateRef,
  JobSummary,
  Page,
  PageRequest,
  RepositoryDeps,
  StoredItem,
} from './types.js';

const [BY_TASK, IN_FLIGHT, BY_PILOT] = JOBS_TABLE.globalIndexes;
/** Task states in which new jobs may still be created. */
const GENERATING_TASK_STATES = ['REGISTERED', 'RUNNING'] as const;

/** The task fields a new job copies. */
export interface JobTaskContext {
  taskId: string;
  device: Device;
  rank: number;
}

/** A job to create: its deterministic id and inputs (as shared/jobgen plans them). */
export interface NewJob {
  jobId: string;
  inputs: JobRecord['inputs'];
}

export interface CreateJobsResult {
  created: string[];
  /** Jobs that existed already (an earlier or concurrent generation made them). */
  existing: string[];
}

export interface JobClaim extends JobRef {
  pilotId: string;
}

/** A report from the pilot holding the job's claim. */
export interface PilotReportRef extends JobRef {
  claimToken: string;
}

export interface PhaseUpdate extends PilotReportRef {
  phase: JobPhase;
  at: string;
}

export interface CompleteRequest extends PilotReportRef {
  outputs: z.input<typeof OutputFile>[];
  exitCode?: number;
  phaseTimes?: z.input<typeof PhaseTimes>;
}

export interface CompleteWithOutputsRequest extends CompleteRequest {
  /** Where the outputs go: kind `output` to `output`, kind `log` to `log` (dataset uids). */
  datasets: { output: string; log: string };
}

export interface CompleteWithOutputsResult {
  /** False when the job was DONE already (a repeated report). */
  applied: boolean;
  files: RegisterFilesResult;
}

/** A failure: reported by the pilot (RUNNING, with its claim token) or decided for a LOST job. */
export interface FailureRequest extends JobRef {
  from: 'RUNNING' | 'LOST';
  /** Required when `from` is RUNNING: only the claiming pilot reports on its job. */
  claimToken?: string;
  errorCode: number;
  errorMessage?: string;
  exitCode?: number;
  phaseTimes?: z.input<typeof PhaseTimes>;
}

export interface RetryRequest extends FailureRequest {
  /** The rank the next attempt is dispatched with (a retry boost), if it changes. */
  rank?: number;
}

export interface LostJobRef extends JobStateRef {
  from: 'QUEUED' | 'RUNNING';
  /** For RUNNING jobs: only if still run by this pilot (the one found lost). */
  pilotId?: string;
}

/** One job change: the expected state and attempt, plus the claim token or pilot it must still hold. */
interface TransitionEntry extends JobStateRef {
  claimToken?: string;
  pilotId?: string;
}

/**
 * Picks exactly the guarded fields, so a caller passing a whole record (which has pilotId and
 * claimToken) never adds a guard it did not mean.
 */
function entryOf(
  job: JobRef,
  from: JobState,
  guards: { claimToken?: string | undefined; pilotId?: string | undefined } = {},
): TransitionEntry {
  const entry: TransitionEntry = { jobId: job.jobId, taskId: job.taskId, attempt: job.attempt, from };
  if (guards.claimToken !== undefined) entry.claimToken = guards.claimToken;
  if (guards.pilotId !== undefined) entry.pilotId = guards.pilotId;
  return entry;
}

interface TransitionSpec {
  to: JobState;
  changes(entry: TransitionEntry, now: string): { set?: Record<string, unknown>; remove?: string[] };
  /** True when the job already shows this change was made: a repeated request. */
  isRepeat(entry: TransitionEntry, current: JobRecord): boolean;
  /** Task attributes set along with the counters (e.g. lastServedAt). */
  taskSet?(now: string): Record<string, unknown>;
}

const OutputFiles = z.array(OutputFile).max(LIMITS.outputsPerJob);

function checked<Schema extends z.ZodType>(schema: Schema, value: unknown, subject: string): z.infer<Schema> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw ValidationError.fromZod(subject, parsed.error);
  return parsed.data;
}

/**
 * The index attributes that follow a job's state: `stateKey` always, `inFlightState` only
 * while QUEUED/RUNNING/LOST, `activePilotId` only while RUNNING (sparse indexes).
 */
function stateAttributes(jobId: string, state: JobState, pilotId?: string) {
  const set: Record<string, unknown> = { state, stateKey: `${state}#${jobId}` };
  const remove: string[] = [];
  if ((IN_FLIGHT_JOB_STATES as readonly string[]).includes(state)) set.inFlightState = state;
  else remove.push('inFlightState');
  if (state === 'RUNNING' && pilotId !== undefined) set.activePilotId = pilotId;
  else remove.push('activePilotId');
  return { set, remove };
}

function storedJob(record: JobRecord): StoredItem {
  return { ...record, ...stateAttributes(record.jobId, record.state, record.pilotId).set };
}

function summaryOf(item: StoredItem): JobSummary {
  return checked(
    z.object({
      jobId: z.string(),
      taskId: z.string(),
      state: JobRecord.shape.state,
      attempt: z.number().int(),
      pilotId: z.string().optional(),
      updatedAt: z.string(),
    }),
    item,
    'stored job summary',
  );
}

/** Why a job change was refused, judged from the job as it is now. */
function refusalError(entry: TransitionEntry, current: JobRecord | undefined): ConditionFailedError {
  if (!current) return new NotFoundError('job', entry.jobId);
  if (current.taskId !== entry.taskId) {
    return new ConditionFailedError(
      'job',
      entry.jobId,
      `job ${entry.jobId} belongs to task ${current.taskId}`,
    );
  }
  if (current.attempt !== entry.attempt) return new StaleAttemptError(entry.jobId, entry.attempt);
  if (entry.claimToken !== undefined && current.claimToken !== entry.claimToken) {
    return new ConditionFailedError('job', entry.jobId, `job ${entry.jobId}: claim token does not match`);
  }
  if (entry.pilotId !== undefined && current.pilotId !== entry.pilotId) {
    return new ConditionFailedError(
      'job',
      entry.jobId,
      `job ${entry.jobId} is not run by pilot ${entry.pilotId}`,
    );
  }
  return new StateConflictError('job', entry.jobId, [entry.from]);
}

function requireClaimToken(request: FailureRequest): void {
  if (request.from === 'RUNNING' && request.claimToken === undefined) {
    throw new ValidationError('invalid job report', [
      { path: 'claimToken', message: 'is required to report on a RUNNING job' },
    ]);
  }
}

function failureAttributes(request: FailureRequest) {
  return {
    errorCode: request.errorCode,
    errorMessage: request.errorMessage,
    exitCode: request.exitCode,
    phaseTimes:
      request.phaseTimes === undefined ? undefined : checked(PhaseTimes, request.phaseTimes, 'phase times'),
  };
}

/**
 * Jobs. Every state change is one conditional write guarded by the expected state, the
 * task and the attempt (and the claim token where a pilot reports), made in the same
 * transaction as the task's per-state counters, so the counters stay exact.
 */
export class JobsRepo {
  readonly #deps: RepositoryDeps;

  constructor(deps: RepositoryDeps) {
    this.#deps = deps;
  }

  get #table(): string {
    return this.#deps.tables.jobs;
  }

  #now(): string {
    return timestamp(this.#deps.clock);
  }

  async find(jobId: string): Promise<JobRecord | undefined> {
    const response = await this.#deps.doc.send(
      new GetCommand({ TableName: this.#table, Key: { jobId }, ConsistentRead: true }),
    );
    return response.Item ? parseStored(JobRecord, response.Item, 'job') : undefined;
  }

  async get(jobId: string): Promise<JobRecord> {
    const job = await this.find(jobId);
    if (!job) throw new NotFoundError('job', jobId);
    return job;
  }

  /** The jobs that exist among `jobIds`, in no particular order (BatchGetItem). */
  async getMany(jobIds: readonly string[]): Promise<JobRecord[]> {
    const items = await batchGet(
      this.#deps.doc,
      this.#table,
      [...new Set(jobIds)].map((jobId) => ({ jobId })),
    );
    return items.map((item) => parseStored(JobRecord, item, 'job'));
  }

  /** A task's jobs, all or those in one state, ordered by state then job id. */
  async listByTask(
    taskId: string,
    options: PageRequest & { state?: JobState } = {},
  ): Promise<Page<JobRecord>> {
    const expression = new Expression();
    let keyCondition = `${expression.name(BY_TASK.partitionKey.name)} = ${expression.value(taskId)}`;
    if (options.state !== undefined) {
      keyCondition += ` AND begins_with(${expression.name(BY_TASK.sortKey.name)}, ${expression.value(`${options.state}#`)})`;
    }
    return queryPage(
      this.#deps.doc,
      {
        TableName: this.#table,
        IndexName: BY_TASK.indexName,
        KeyConditionExpression: keyCondition,
        ...expression.attributes(),
      },
      options,
      (item) => parseStored(JobRecord, item, 'job'),
    );
  }

  /** Up to `limit` READY jobs of a task: what the dispatcher sends next. */
  async listReady(taskId: string, limit: number): Promise<JobRecord[]> {
    return (await this.listByTask(taskId, { state: 'READY', limit })).items;
  }

  /** QUEUED, RUNNING or LOST jobs, oldest change first, optionally only those unchanged since `updatedBefore`. */
  async listInFlight(
    state: InFlightJobState,
    options: PageRequest & { updatedBefore?: string } = {},
  ): Promise<Page<JobSummary>> {
    const expression = new Expression();
    let keyCondition = `${expression.name(IN_FLIGHT.partitionKey.name)} = ${expression.value(state)}`;
    if (options.updatedBefore !== undefined) {
      keyCondition += ` AND ${expression.name(IN_FLIGHT.sortKey.name)} < ${expression.value(options.updatedBefore)}`;
    }
    return queryPage(
      this.#deps.doc,
      {
        TableName: this.#table,
        IndexName: IN_FLIGHT.indexName,
        KeyConditionExpression: keyCondition,
        ...expression.attributes(),
      },
      options,
      summaryOf,
    );
  }

  /** The jobs a pilot is running. */
  async listByPilot(pilotId: string, page: PageRequest = {}): Promise<Page<JobSummary>> {
    const expression = new Expression();
    return queryPage(
      this.#deps.doc,
      {
        TableName: this.#table,
        IndexName: BY_PILOT.indexName,
        KeyConditionExpression: `${expression.name(BY_PILOT.partitionKey.name)} = ${expression.value(pilotId)}`,
        ...expression.attributes(),
      },
      page,
      summaryOf,
    );
  }

  /**
   * Creates a task's jobs READY, in transactions of up to 99 jobs plus the task's counter
   * update. A job that exists already is left alone and not counted, so running generation
   * again creates nothing twice and `jobsTotal` / `counts.READY` stay exact. Refused with
   * NotFoundError / StateConflictError when the task is missing or no longer takes jobs.
   */
  async createJobs(task: JobTaskContext, jobs: readonly NewJob[]): Promise<CreateJobsResult> {
    rejectDuplicates(
      jobs.map((job) => job.jobId),
      'jobs',
    );
    const now = this.#now();
    const entries: BatchEntry<string>[] = jobs.map((job, index) => {
      const record = checked(
        JobRecord,
        {
          jobId: job.jobId,
          taskId: task.taskId,
          state: 'READY',
          attempt: 0,
          device: task.device,
          rank: task.rank,
          inputs: job.inputs,
          createdAt: now,
          updatedAt: now,
        },
        `job ${index}`,
      );
      const expression = new Expression();
      return {
        entry: job.jobId,
        counterKey: task.taskId,
        write: {
          Put: {
            TableName: this.#table,
            Item: storedJob(record),
            ConditionExpression: `attribute_not_exists(${expression.name('jobId')})`,
            ...expression.attributes(),
          },
        },
      };
    });
    const outcome = await writeBatch(this.#deps.doc, entries, (taskId, created) => {
      const expression = new Expression();
      return {
        Update: {
          TableName: this.#deps.tables.tasks,
          Key: { taskId },
          UpdateExpression: expression.update({
            add: { jobsTotal: created.length, 'counts.READY': created.length },
          }),
          ConditionExpression: expression.oneOf('state', GENERATING_TASK_STATES),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ...expression.attributes(),
        },
      };
    });
    const taskRefusal = outcome.refused.find((refused) => refused.refusedBy === 'counter');
    if (taskRefusal) {
      throw taskRefusal.refusal.item
        ? new StateConflictError('task', task.taskId, GENERATING_TASK_STATES)
        : new NotFoundError('task', task.taskId);
    }
    return { created: outcome.written, existing: outcome.refused.map((refused) => refused.entry) };
  }

  /** READY → QUEUED for jobs just sent to a device queue; also stamps each task's lastServedAt. */
  async markQueued(jobs: readonly JobRef[]): Promise<JobBatchResult> {
    return this.#transition(
      jobs.map((job) => entryOf(job, 'READY')),
      {
        to: 'QUEUED',
        changes: (_entry, now) => ({ set: { queuedAt: now } }),
        isRepeat: (entry, current) => current.state === 'QUEUED' && current.attempt === entry.attempt,
        taskSet: (now) => ({ lastServedAt: now }),
      },
    );
  }

  /**
   * QUEUED → RUNNING for `pilotId`, returning the claim token the pilot must present from now
   * on. Exactly one claim of an attempt wins; the others get AlreadyClaimedError, a claim for
   * an older attempt StaleAttemptError, a claim for an unknown job NotFoundError.
   */
  async claim(request: JobClaim): Promise<string> {
    const claimToken = newClaimToken();
    const result = await this.#transition([entryOf(request, 'QUEUED')], {
      to: 'RUNNING',
      changes: (_entry, now) => ({
        set: {
          pilotId: request.pilotId,
          claimToken,
          phase: 'CLAIMED',
          phaseTimes: { CLAIMED: now },
          startedAt: now,
        },
      }),
      isRepeat: () => false,
    });
    const refused = result.refused[0];
    if (refused) {
      throw refused.error instanceof StateConflictError
        ? new AlreadyClaimedError(request.jobId)
        : refused.error;
    }
    return claimToken;
  }

  /**
   * Records a sub-phase of a RUNNING job (one UpdateItem, no counter moves). Phases only move
   * forward: a repeated or backward report returns false and changes nothing.
   */
  async updatePhase(update: PhaseUpdate): Promise<boolean> {
    const earlier = JOB_PHASES.filter((phase) => isPhaseAdvance(phase, update.phase));
    const expression = new Expression();
    const phaseGuard = [
      `attribute_not_exists(${expression.name('phase')})`,
      ...(earlier.length > 0 ? [expression.oneOf('phase', earlier)] : []),
    ].join(' OR ');
    const condition = [
      `${expression.name('state')} = ${expression.value('RUNNING')}`,
      `${expression.name('taskId')} = ${expression.value(update.taskId)}`,
      `${expression.name('attempt')} = ${expression.value(update.attempt)}`,
      `${expression.name('claimToken')} = ${expression.value(update.claimToken)}`,
      `(${phaseGuard})`,
    ].join(' AND ');
    const result = await conditionalWrite(() =>
      this.#deps.doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { jobId: update.jobId },
          UpdateExpression: expression.update({
            set: { phase: update.phase, [`phaseTimes.${update.phase}`]: update.at, updatedAt: this.#now() },
          }),
          ConditionExpression: condition,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ...expression.attributes(),
        }),
      ),
    );
    if (result.ok) return true;
    const current = result.current ? parseStored(JobRecord, result.current, 'job') : undefined;
    const error = refusalError(entryOf(update, 'RUNNING', { claimToken: update.claimToken }), current);
    // Right job, attempt and token, still RUNNING: only the phase guard refused, it did not advance.
    if (error instanceof StateConflictError && current?.state === 'RUNNING') return false;
    throw error;
  }

  /** RUNNING → DONE with the outputs, reported by the claiming pilot. False if already done. */
  async complete(request: CompleteRequest): Promise<boolean> {
    return this.#transitionOne(...this.#completion(request));
  }

  /**
   * RUNNING → DONE and the outputs registered in their output/log datasets, in ONE
   * transaction (job, task counters, files, dataset counters), so a job is DONE exactly when
   * its outputs are registered. A refused job registers nothing (a stale result's outputs
   * never enter a dataset). Files whose name is taken with the same content count as
   * existing; conflicting files, or files of a dataset no longer OPEN, are reported and left
   * out while the job completes. A repeated report (job already DONE) registers the files
   * idempotently and returns `applied: false`. Outputs too many for one transaction are
   * registered right after the completion.
   */
  async completeWithOutputs(request: CompleteWithOutputsRequest): Promise<CompleteWithOutputsResult> {
    const [entry, spec] = this.#completion(request);
    const now = this.#now();
    const files = checked(OutputFiles, request.outputs, 'job outputs').map((output, index) =>
      fileRecordOf(
        {
          ...output,
          datasetUid: output.kind === 'log' ? request.datasets.log : request.datasets.output,
          jobId: request.jobId,
        },
        now,
        `job output ${index}`,
      ),
    );
    rejectDuplicates(files.map(fileKey), 'outputs');
    const filesRepo = new FilesRepo(this.#deps);
    const datasetCount = new Set(files.map((file) => file.datasetUid)).size;
    if (2 + files.length + datasetCount > TRANSACTION_ITEM_LIMIT) {
      const applied = await this.#transitionOne(entry, spec);
      return { applied, files: await filesRepo.registerMany(files) };
    }

    const jobWrite = this.#jobUpdate(entry, spec, now);
    const taskWrite = this.#counterUpdate(entry.taskId, ['RUNNING'], 'DONE', undefined);
    const registered: RegisterFilesResult = { created: [], existing: [], refused: [] };
    let pending = files;
    for (;;) {
      const datasets = [...new Set(pending.map((file) => file.datasetUid))];
      const reasons = await transactWrite(this.#deps.doc, [
        jobWrite,
        taskWrite,
        ...pending.map((file) => filePut(this.#deps.tables.files, file)),
        ...datasets.map((uid) =>
          datasetCounterUpdate(
            this.#deps.tables.datasets,
            uid,
            pending.filter((file) => file.datasetUid === uid),
          ),
        ),
      ]);
      if (!reasons) {
        registered.created.push(...pending);
        return { applied: true, files: registered };
      }
      const [jobReason, taskReason] = reasons;
      if (jobReason?.code === 'ConditionalCheckFailed') {
        const current = jobReason.item ? parseStored(JobRecord, jobReason.item, 'job') : undefined;
        if (current && current.taskId === entry.taskId && spec.isRepeat(entry, current)) {
          return { applied: false, files: await filesRepo.registerMany(files) };
        }
        throw refusalError(entry, current);
      }
      if (taskReason?.code === 'ConditionalCheckFailed') throw new NotFoundError('task', entry.taskId);
      const closedDatasets = new Map<string, ItemRefusal>();
      datasets.forEach((uid, index) => {
        const reason = reasons[2 + pending.length + index];
        if (reason?.code === 'ConditionalCheckFailed') closedDatasets.set(uid, reason);
      });
      const next: FileRecord[] = [];
      pending.forEach((file, index) => {
        const reason = reasons[2 + index];
        const datasetRefusal = closedDatasets.get(file.datasetUid);
        if (reason?.code === 'ConditionalCheckFailed') {
          const taken = takenNameOutcome(file, reason);
          if ('existing' in taken) registered.existing.push(taken.existing);
          else registered.refused.push(taken.refused);
        } else if (datasetRefusal) {
          registered.refused.push(closedDatasetRefusal(file, datasetRefusal));
        } else {
          next.push(file);
        }
      });
      pending = next;
    }
  }

  #completion(request: CompleteRequest): [TransitionEntry, TransitionSpec] {
    const outputs = checked(OutputFiles, request.outputs, 'job outputs');
    const phaseTimes =
      request.phaseTimes === undefined ? undefined : checked(PhaseTimes, request.phaseTimes, 'phase times');
    return [
      entryOf(request, 'RUNNING', { claimToken: request.claimToken }),
      {
        to: 'DONE',
        changes: (_entry, now) => ({
          set: { outputs, exitCode: request.exitCode, phaseTimes, errorCode: 0, endedAt: now },
          remove: ['phase'],
        }),
        isRepeat: (job, current) =>
          current.state === 'DONE' &&
          current.attempt === job.attempt &&
          current.claimToken === job.claimToken,
      },
    ];
  }

  /** RUNNING|LOST → FAILED (retries exhausted or not retryable). False if already failed. */
  async fail(request: FailureRequest): Promise<boolean> {
    requireClaimToken(request);
    const failure = failureAttributes(request);
    return this.#transitionOne(entryOf(request, request.from, { claimToken: request.claimToken }), {
      to: 'FAILED',
      changes: (_entry, now) => ({ set: { ...failure, endedAt: now }, remove: ['phase'] }),
      isRepeat: (entry, current) => current.state === 'FAILED' && current.attempt === entry.attempt,
    });
  }

  /**
   * RUNNING|LOST → READY with attempt + 1: the claim is dropped, the error of the failed
   * attempt kept. False when the next attempt exists already (a repeated request).
   */
  async retry(request: RetryRequest): Promise<boolean> {
    requireClaimToken(request);
    const { errorCode, errorMessage, exitCode } = failureAttributes(request);
    return this.#transitionOne(entryOf(request, request.from, { claimToken: request.claimToken }), {
      to: 'READY',
      changes: (entry) => ({
        set: { attempt: entry.attempt + 1, errorCode, errorMessage, exitCode, rank: request.rank },
        remove: ['pilotId', 'claimToken', 'phase', 'phaseTimes', 'queuedAt', 'startedAt'],
      }),
      isRepeat: (entry, current) => current.attempt === entry.attempt + 1,
    });
  }

  /** QUEUED|RUNNING → LOST: the message or the pilot is gone (watchdog). */
  async markLost(jobs: readonly LostJobRef[]): Promise<JobBatchResult> {
    return this.#transition(
      jobs.map((job) => entryOf(job, job.from, { pilotId: job.pilotId })),
      {
        to: 'LOST',
        changes: () => ({ remove: ['phase'] }),
        isRepeat: (entry, current) => current.state === 'LOST' && current.attempt === entry.attempt,
      },
    );
  }

  /** READY|QUEUED|RUNNING|LOST → CANCELLED. RUNNING ones still need their payload killed. */
  async cancel(jobs: readonly JobStateRef[]): Promise<JobBatchResult> {
    return this.#transition(
      jobs.map((job) => entryOf(job, job.from)),
      {
        to: 'CANCELLED',
        changes: (_entry, now) => ({ set: { endedAt: now }, remove: ['phase'] }),
        isRepeat: (entry, current) => current.state === 'CANCELLED' && current.attempt === entry.attempt,
      },
    );
  }

  /** QUEUED → READY, same attempt: the job sat in its queue too long (watchdog). */
  async requeue(jobs: readonly JobRef[]): Promise<JobBatchResult> {
    return this.#transition(
      jobs.map((job) => entryOf(job, 'QUEUED')),
      {
        to: 'READY',
        changes: () => ({ remove: ['queuedAt'] }),
        isRepeat: () => false,
      },
    );
  }

  async #transitionOne(entry: TransitionEntry, spec: TransitionSpec): Promise<boolean> {
    const result = await this.#transition([entry], spec);
    const refused = result.refused[0];
    if (refused) throw refused.error;
    return result.applied.length === 1;
  }

  /**
   * The one write path of job state changes: per job, an update guarded by state, task,
   * attempt (and claim token / pilot when given); per task in the same transaction, its
   * counters moved by exactly the jobs written.
   */
  async #transition(jobs: readonly TransitionEntry[], spec: TransitionSpec): Promise<JobBatchResult> {
    rejectDuplicates(
      jobs.map((job) => job.jobId),
      'jobs',
    );
    for (const job of jobs) assertTransition('job', job.from, spec.to);
    const now = this.#now();
    const entries: BatchEntry<TransitionEntry>[] = jobs.map((job) => ({
      entry: job,
      counterKey: job.taskId,
      write: this.#jobUpdate(job, spec, now),
    }));
    const outcome = await writeBatch(this.#deps.doc, entries, (taskId, written) =>
      this.#counterUpdate(
        taskId,
        written.map((entry) => entry.entry.from),
        spec.to,
        spec.taskSet?.(now),
      ),
    );
    const result: JobBatchResult = { applied: outcome.written.map(refOf), unchanged: [], refused: [] };
    for (const { entry, refusedBy, refusal } of outcome.refused) {
      if (refusedBy === 'counter') {
        result.refused.push({ job: refOf(entry), error: new NotFoundError('task', entry.taskId) });
        continue;
      }
      const current = refusal.item ? parseStored(JobRecord, refusal.item, 'job') : undefined;
      if (current && current.taskId === entry.taskId && spec.isRepeat(entry, current)) {
        result.unchanged.push(refOf(entry));
      } else {
        const refused: JobRefusal = { job: refOf(entry), error: refusalError(entry, current) };
        if (current) refused.current = current;
        result.refused.push(refused);
      }
    }
    return result;
  }

  #jobUpdate(job: TransitionEntry, spec: TransitionSpec, now: string): TransactWriteItem {
    const changes = spec.changes(job, now);
    const pilotId = typeof changes.set?.pilotId === 'string' ? changes.set.pilotId : undefined;
    const indexed = stateAttributes(job.jobId, spec.to, pilotId);
    const expression = new Expression();
    const conditions = [
      `${expression.name('state')} = ${expression.value(job.from)}`,
      `${expression.name('taskId')} = ${expression.value(job.taskId)}`,
      `${expression.name('attempt')} = ${expression.value(job.attempt)}`,
    ];
    if (job.claimToken !== undefined) {
      conditions.push(`${expression.name('claimToken')} = ${expression.value(job.claimToken)}`);
    }
    if (job.pilotId !== undefined)
      conditions.push(`${expression.name('pilotId')} = ${expression.value(job.pilotId)}`);
    const set = { ...changes.set, ...indexed.set, updatedAt: now };
    const remove = [...new Set([...(changes.remove ?? []), ...indexed.remove])].filter(
      (path) => !(path in set),
    );
    return {
      Update: {
        TableName: this.#table,
        Key: { jobId: job.jobId },
        UpdateExpression: expression.update({ set, remove }),
        ConditionExpression: conditions.join(' AND '),
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        ...expression.attributes(),
      },
    };
  }

  #counterUpdate(
    taskId: string,
    from: readonly JobState[],
    to: JobState,
    extraSet: Record<string, unknown> | undefined,
  ): TransactWriteItem {
    const deltas: Record<string, number> = {};
    for (const state of from) deltas[`counts.${state}`] = (deltas[`counts.${state}`] ?? 0) - 1;
    deltas[`counts.${to}`] = (deltas[`counts.${to}`] ?? 0) + from.length;
    const expression = new Expression();
    return {
      Update: {
        TableName: this.#deps.tables.tasks,
        Key: { taskId },
        UpdateExpression: expression.update({ add: deltas, set: extraSet }),
        ConditionExpression: `attribute_exists(${expression.name('taskId')})`,
        ...expression.attributes(),
      },
    };
  }
}

function refOf(entry: JobStateRef): JobStateRef {
  return { jobId: entry.jobId, taskId: entry.taskId, attempt: entry.attempt, from: entry.from };
}
