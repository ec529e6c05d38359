import { GetCommand, QueryCommand, type TransactWriteItem, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import {
  AlreadyClaimedError,
  ConditionFailedError,
  NotClaimableError,
  NotFoundError,
  PilotIdentityMismatchError,
  PilotNotLiveError,
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
  TaskRecord,
  type TaskState,
  Timestamp,
} from '../model/index.js';
import { assertTransition, isPhaseAdvance, STARTED_TASK_STATES } from '../states/index.js';
import { IN_FLIGHT_JOB_STATES, MAX_PAGE_SIZE, TRANSACTION_ITEM_LIMIT } from './constants.js';
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
  type FileRefusal,
  fileKey,
  filePut,
  fileRecordOf,
  type NewFile,
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
/** Jobs are dispatched only for a RUNNING task: one being cancelled gets none after the sweep passed. */
const DISPATCHING_TASK_STATES = ['RUNNING'] as const;
/** The pilot states in which a pilot may claim jobs. */
const LIVE_PILOT_STATES = ['ACTIVE', 'IDLE'] as const;

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
  /** The pilot's id for this claim, the same in its retries. */
  requestId?: string;
  /** The verified caller; when given, it must be the principal that registered the pilot. */
  callerId?: string;
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
  /** The next attempt is not dispatched before this time (its backoff); at once when absent. */
  retryAfter?: string;
}

/** How a RUNNING attempt ends, as its pilot's result decides. */
export type AttemptEnd =
  | {
      to: 'DONE';
      outputs: z.input<typeof OutputFile>[];
      exitCode?: number;
      phaseTimes?: z.input<typeof PhaseTimes>;
    }
  | ({ to: 'FAILED' } & FailureDetails)
  | ({ to: 'READY'; retryAfter?: string } & FailureDetails)
  | { to: 'CANCELLED' };

/** What a failed attempt leaves on its job. */
export interface FailureDetails {
  errorCode: number;
  errorMessage?: string;
  exitCode?: number;
  phaseTimes?: z.input<typeof PhaseTimes>;
}

export interface EndAttemptRequest extends PilotReportRef {
  end: AttemptEnd;
  /** Files registered with the change (outputs, logs), each with its dataset. */
  files: readonly NewFile[];
  /** States the task must be in (checked by its counter update); any existing task when absent. */
  taskStates?: readonly TaskState[];
}

export type EndAttemptResult =
  /** The job changed, its task's counters moved and every file is registered (now or before, same content). */
  | { status: 'applied'; files: { created: FileRecord[]; existing: FileRecord[] } }
  /** The job is not this RUNNING attempt with this claim token; `current` is the job as it is. */
  | { status: 'job-refused'; current?: JobRecord }
  /** The task is missing (`current` absent) or not in `taskStates`. */
  | { status: 'task-refused'; current?: TaskRecord }
  /** Names taken by other content, or datasets missing or not OPEN; the job is unchanged. */
  | { status: 'files-refused'; refused: FileRefusal[] };

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
  /** States the task must be in for the change; any existing task when absent. */
  taskStates?: readonly TaskState[];
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
  return parseStored(
    z.object({
      jobId: z.string(),
      taskId: z.string(),
      state: JobRecord.shape.state,
      attempt: z.number().int(),
      pilotId: z.string().optional(),
      updatedAt: z.string(),
    }),
    item,
    'job summary',
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

function failureAttributes(failure: FailureDetails) {
  return {
    errorCode: failure.errorCode,
    errorMessage: failure.errorMessage,
    exitCode: failure.exitCode,
    phaseTimes:
      failure.phaseTimes === undefined ? undefined : checked(PhaseTimes, failure.phaseTimes, 'phase times'),
  };
}

function checkedRetryAfter(retryAfter: string | undefined): string | undefined {
  return retryAfter === undefined ? undefined : checked(Timestamp, retryAfter, 'retryAfter');
}

/** RUNNING → DONE with the outputs, by the claiming pilot. */
function completionSpec(end: Extract<AttemptEnd, { to: 'DONE' }>): TransitionSpec {
  const outputs = checked(OutputFiles, end.outputs, 'job outputs');
  const phaseTimes =
    end.phaseTimes === undefined ? undefined : checked(PhaseTimes, end.phaseTimes, 'phase times');
  return {
    to: 'DONE',
    changes: (_entry, now) => ({
      set: { outputs, exitCode: end.exitCode, phaseTimes, errorCode: 0, endedAt: now },
      remove: ['phase'],
    }),
    isRepeat: (job, current) =>
      current.state === 'DONE' && current.attempt === job.attempt && current.claimToken === job.claimToken,
  };
}

/** → FAILED, keeping the error of the attempt. */
function failureSpec(failure: FailureDetails): TransitionSpec {
  const attributes = failureAttributes(failure);
  return {
    to: 'FAILED',
    changes: (_entry, now) => ({ set: { ...attributes, endedAt: now }, remove: ['phase'] }),
    isRepeat: (entry, current) => current.state === 'FAILED' && current.attempt === entry.attempt,
  };
}

/** What an attempt leaves on its job that the next attempt must not carry. */
const ATTEMPT_ATTRIBUTES = [
  'pilotId',
  'claimToken',
  'claimRequestId',
  'phase',
  'phaseTimes',
  'queuedAt',
  'startedAt',
  'retryAfter',
] as const;

/** → READY with attempt + 1: the claim is dropped, the error of the failed attempt kept. */
function retrySpec(failure: FailureDetails & { rank?: number; retryAfter?: string }): TransitionSpec {
  const { errorCode, errorMessage, exitCode } = failureAttributes(failure);
  const retryAfter = checkedRetryAfter(failure.retryAfter);
  return {
    to: 'READY',
    changes: (entry) => ({
      set: { attempt: entry.attempt + 1, errorCode, errorMessage, exitCode, rank: failure.rank, retryAfter },
      remove: [...ATTEMPT_ATTRIBUTES],
    }),
    isRepeat: (entry, current) => current.attempt === entry.attempt + 1,
  };
}

const CANCEL_SPEC: TransitionSpec = {
  to: 'CANCELLED',
  changes: (_entry, now) => ({ set: { endedAt: now }, remove: ['phase'] }),
  isRepeat: (entry, current) => current.state === 'CANCELLED' && current.attempt === entry.attempt,
};

function endSpec(end: AttemptEnd): TransitionSpec {
  switch (end.to) {
    case 'DONE':
      return completionSpec(end);
    case 'FAILED':
      return failureSpec(end);
    case 'READY':
      return retrySpec(end);
    case 'CANCELLED':
      return CANCEL_SPEC;
  }
}

function refused(reason: ItemRefusal | undefined): reason is ItemRefusal {
  return reason?.code === 'ConditionalCheckFailed';
}

/**
 * A claim repeated by the pilot whose first try won (the answer was lost on the way): same
 * request id, pilot and attempt. It gets the winning claim's token; nothing is written again.
 */
function isRetryOfWinningClaim(
  request: JobClaim,
  current: JobRecord,
): current is JobRecord & { claimToken: string } {
  return (
    request.requestId !== undefined &&
    current.claimRequestId === request.requestId &&
    current.pilotId === request.pilotId &&
    current.attempt === request.attempt &&
    current.claimToken !== undefined
  );
}

/**
 * Splits files into the first that fit `room` transaction items (each file one item, each of
 * their datasets one counter item) and the rest.
 */
function takeForTransaction(files: readonly FileRecord[], room: number): [FileRecord[], FileRecord[]] {
  const taken: FileRecord[] = [];
  const datasets = new Set<string>();
  for (const file of files) {
    const items = taken.length + 1 + datasets.size + (datasets.has(file.datasetUid) ? 0 : 1);
    if (items > room) break;
    taken.push(file);
    datasets.add(file.datasetUid);
  }
  return [taken, files.slice(taken.length)];
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

  /**
   * Up to `limit` READY jobs of a task: what the dispatcher sends next. With `readyBy`, jobs
   * whose retry backoff lasts beyond it are skipped. The filter applies after the query's
   * Limit, so pages are read until `limit` jobs are found or the task has no more READY jobs;
   * each further page is twice the last, so a run of jobs in backoff costs few queries.
   */
  async listReady(taskId: string, limit: number, options: { readyBy?: string } = {}): Promise<JobRecord[]> {
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
      throw new ValidationError('invalid page request', [
        { path: 'limit', message: `must be an integer from 1 to ${MAX_PAGE_SIZE}` },
      ]);
    }
    const readyBy =
      options.readyBy === undefined ? undefined : checked(Timestamp, options.readyBy, 'readyBy');
    const found: JobRecord[] = [];
    let startKey: StoredItem | undefined;
    let pageSize = limit;
    do {
      const expression = new Expression();
      const keyCondition = `${expression.name(BY_TASK.partitionKey.name)} = ${expression.value(taskId)} AND begins_with(${expression.name(BY_TASK.sortKey.name)}, ${expression.value('READY#')})`;
      const filter = readyBy === undefined ? {} : { FilterExpression: this.#readyBy(expression, readyBy) };
      const response = await this.#deps.doc.send(
        new QueryCommand({
          TableName: this.#table,
          IndexName: BY_TASK.indexName,
          KeyConditionExpression: keyCondition,
          ...filter,
          ...expression.attributes(),
          Limit: pageSize,
          ExclusiveStartKey: startKey,
        }),
      );
      found.push(...(response.Items ?? []).map((item) => parseStored(JobRecord, item, 'job')));
      startKey = response.LastEvaluatedKey;
      pageSize = Math.min(MAX_PAGE_SIZE, pageSize * 2);
    } while (found.length < limit && startKey !== undefined);
    return found.slice(0, limit);
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

  /**
   * READY → QUEUED for jobs just sent to a device queue, only while their task is RUNNING (a
   * task being cancelled refuses them with StateConflictError); stamps each task's lastServedAt.
   */
  async markQueued(jobs: readonly JobRef[]): Promise<JobBatchResult> {
    return this.#transition(
      jobs.map((job) => entryOf(job, 'READY')),
      {
        to: 'QUEUED',
        changes: (_entry, now) => ({ set: { queuedAt: now }, remove: ['retryAfter'] }),
        isRepeat: (entry, current) => current.state === 'QUEUED' && current.attempt === entry.attempt,
        taskSet: (now) => ({ lastServedAt: now }),
        taskStates: DISPATCHING_TASK_STATES,
      },
    );
  }

  /**
   * QUEUED → RUNNING for `pilotId`, returning the claim token the pilot must present from now
   * on; the same transaction checks that the pilot is ACTIVE or IDLE. Exactly one claim of an
   * attempt wins; the others get AlreadyClaimedError. A claim for an older attempt gets
   * StaleAttemptError, for a job neither QUEUED nor RUNNING NotClaimableError, for an unknown
   * job NotFoundError, from a pilot that is LOST, EXITED or unknown PilotNotLiveError, from a
   * caller other than the pilot's registering principal PilotIdentityMismatchError.
   */
  async claim(request: JobClaim): Promise<string> {
    assertTransition('job', 'QUEUED', 'RUNNING');
    const claimToken = newClaimToken();
    const entry = entryOf(request, 'QUEUED');
    const spec: TransitionSpec = {
      to: 'RUNNING',
      changes: (_entry, now) => ({
        set: {
          pilotId: request.pilotId,
          claimToken,
          ...(request.requestId !== undefined && { claimRequestId: request.requestId }),
          phase: 'CLAIMED',
          phaseTimes: { CLAIMED: now },
          startedAt: now,
        },
        remove: ['claimRequestId'],
      }),
      isRepeat: () => false,
    };
    const now = this.#now();
    const pilotCheck = new Expression();
    const reasons = await transactWrite(this.#deps.doc, [
      this.#jobUpdate(entry, spec, now),
      this.#counterUpdate(request.taskId, ['QUEUED'], 'RUNNING', undefined, undefined),
      {
        ConditionCheck: {
          TableName: this.#deps.tables.pilots,
          Key: { pilotId: request.pilotId },
          ConditionExpression:
            request.callerId === undefined
              ? pilotCheck.oneOf('state', LIVE_PILOT_STATES)
              : `${pilotCheck.oneOf('state', LIVE_PILOT_STATES)} AND ${pilotCheck.name('callerId')} = ${pilotCheck.value(request.callerId)}`,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ...pilotCheck.attributes(),
        },
      },
    ]);
    if (!reasons) return claimToken;
    const [jobReason, taskReason, pilotReason] = reasons;
    // Before anything else: a caller acting for another's pilot learns nothing, not even a claim token.
    if (
      refused(pilotReason) &&
      request.callerId !== undefined &&
      pilotReason.item !== undefined &&
      pilotReason.item.callerId !== request.callerId
    ) {
      throw new PilotIdentityMismatchError(request.pilotId);
    }
    if (refused(jobReason)) {
      const current = jobReason.item ? parseStored(JobRecord, jobReason.item, 'job') : undefined;
      const error = refusalError(entry, current);
      if (!(error instanceof StateConflictError) || !current) throw error;
      if (current.state !== 'RUNNING') throw new NotClaimableError(request.jobId, current.state);
      if (isRetryOfWinningClaim(request, current)) return current.claimToken;
      throw new AlreadyClaimedError(request.jobId);
    }
    if (refused(pilotReason)) {
      const state = pilotReason.item?.state;
      throw new PilotNotLiveError(request.pilotId, typeof state === 'string' ? state : undefined);
    }
    if (refused(taskReason)) throw new NotFoundError('task', request.taskId);
    throw new Error(`claim of job ${request.jobId} was refused without a reason`);
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
    return this.#transitionOne(
      entryOf(request, 'RUNNING', { claimToken: request.claimToken }),
      completionSpec({ to: 'DONE', ...request }),
    );
  }

  /**
   * RUNNING → DONE and the outputs registered in their output/log datasets, in ONE
   * transaction (job, task counters, files, dataset counters), so a job is DONE exactly when
   * its outputs are registered. A refused job registers nothing (a stale result's outputs
   * never enter a dataset). Files whose name is taken with the same content count as
   * existing; conflicting files, or files of a dataset missing or no longer OPEN, are reported
   * and left out while the job completes. A repeated report (job already DONE) registers the
   * files idempotently and returns `applied: false`. Outputs too many for one transaction are
   * registered first, in transactions that check the job is still this RUNNING attempt.
   */
  async completeWithOutputs(request: CompleteWithOutputsRequest): Promise<CompleteWithOutputsResult> {
    const entry = entryOf(request, 'RUNNING', { claimToken: request.claimToken });
    const spec = completionSpec({ to: 'DONE', ...request });
    const files = checked(OutputFiles, request.outputs, 'job outputs').map((output) => ({
      ...output,
      datasetUid: output.kind === 'log' ? request.datasets.log : request.datasets.output,
      jobId: request.jobId,
    }));
    const refusedFiles: FileRefusal[] = [];
    let pending = this.#fileRecords(files);
    for (;;) {
      const outcome = await this.#transitionWithFiles(entry, spec, pending, undefined);
      switch (outcome.status) {
        case 'applied':
          return { applied: true, files: { ...outcome.files, refused: refusedFiles } };
        case 'job-refused': {
          const { current } = outcome;
          if (current && current.taskId === entry.taskId && spec.isRepeat(entry, current)) {
            return { applied: false, files: await new FilesRepo(this.#deps).registerMany(files) };
          }
          throw refusalError(entry, current);
        }
        case 'task-refused':
          throw new NotFoundError('task', entry.taskId);
        case 'files-refused': {
          refusedFiles.push(...outcome.refused);
          const left = new Set(outcome.refused.map((refusal) => fileKey(refusal.file)));
          pending = pending.filter((file) => !left.has(fileKey(file)));
        }
      }
    }
  }

  /**
   * Ends a RUNNING attempt as its pilot's result decides — DONE, FAILED, READY (retried) or
   * CANCELLED — and registers `files` with it, in ONE transaction guarded by the job's state,
   * attempt and claim token, the task's state (`taskStates`), each file's name being free and
   * each dataset being OPEN. Files registered before with the same content count as existing
   * and are left out of a second try. Nothing is written when a guard refuses: the result says
   * which one, with the item as it is, for the caller to decide. Files too many for one
   * transaction are registered first, in transactions checking the same job and task guards.
   */
  async endAttempt(request: EndAttemptRequest): Promise<EndAttemptResult> {
    const spec = endSpec(request.end);
    assertTransition('job', 'RUNNING', spec.to);
    const entry = entryOf(request, 'RUNNING', { claimToken: request.claimToken });
    return this.#transitionWithFiles(entry, spec, this.#fileRecords(request.files), request.taskStates);
  }

  /**
   * Ends several RUNNING attempts in ONE transaction: for each, the same guarded job write and
   * file registrations as `endAttempt`, with the counters of each task and dataset moved by one
   * update for all of them. All are applied, or none when any guard refuses (undefined): the
   * caller then ends them one by one, where each refusal has its own answer. The jobs must be
   * distinct and, with their files and counters, fit one transaction.
   */
  async endAttemptsTogether(requests: readonly EndAttemptRequest[]): Promise<FileRecord[][] | undefined> {
    rejectDuplicates(
      requests.map((request) => request.jobId),
      'jobs',
    );
    const now = this.#now();
    const files = requests.map((request) => this.#fileRecords(request.files));
    rejectDuplicates(files.flat().map(fileKey), 'files');
    const moves = new Map<string, { from: JobState; to: JobState }[]>();
    const taskStates = new Map<string, readonly TaskState[] | undefined>();
    const jobWrites = requests.map((request, index) => {
      const spec = endSpec(request.end);
      assertTransition('job', 'RUNNING', spec.to);
      const known = taskStates.get(request.taskId);
      if (moves.has(request.taskId) && known?.join() !== request.taskStates?.join()) {
        throw new ValidationError('attempts ending together', [
          { path: `${index}.taskStates`, message: `differ from another attempt's of task ${request.taskId}` },
        ]);
      }
      taskStates.set(request.taskId, request.taskStates);
      moves.set(request.taskId, [...(moves.get(request.taskId) ?? []), { from: 'RUNNING', to: spec.to }]);
      return this.#jobUpdate(entryOf(request, 'RUNNING', { claimToken: request.claimToken }), spec, now);
    });
    const byDataset = new Map<string, FileRecord[]>();
    for (const file of files.flat())
      byDataset.set(file.datasetUid, [...(byDataset.get(file.datasetUid) ?? []), file]);
    const items = [
      ...jobWrites,
      ...[...moves].map(([taskId, taskMoves]) =>
        this.#countersUpdate(taskId, taskMoves, undefined, taskStates.get(taskId)),
      ),
      ...files.flat().map((file) => filePut(this.#deps.tables.files, file)),
      ...[...byDataset].map(([uid, datasetFiles]) =>
        datasetCounterUpdate(this.#deps.tables.datasets, uid, datasetFiles),
      ),
    ];
    if (items.length > TRANSACTION_ITEM_LIMIT) {
      throw new ValidationError('attempts ending together', [
        {
          path: '',
          message: `${items.length} items do not fit one transaction of ${TRANSACTION_ITEM_LIMIT}`,
        },
      ]);
    }
    return (await transactWrite(this.#deps.doc, items)) ? undefined : files;
  }

  /** RUNNING|LOST → FAILED (retries exhausted or not retryable). False if already failed. */
  async fail(request: FailureRequest): Promise<boolean> {
    requireClaimToken(request);
    return this.#transitionOne(
      entryOf(request, request.from, { claimToken: request.claimToken }),
      failureSpec(request),
    );
  }

  /**
   * RUNNING|LOST → READY with attempt + 1: the claim is dropped, the error of the failed
   * attempt kept, and `retryAfter` set to the backoff (or removed). False when the next
   * attempt exists already (a repeated request).
   */
  async retry(request: RetryRequest): Promise<boolean> {
    requireClaimToken(request);
    return this.#transitionOne(
      entryOf(request, request.from, { claimToken: request.claimToken }),
      retrySpec(request),
    );
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
      CANCEL_SPEC,
    );
  }

  /** QUEUED → READY, same attempt and no backoff: the job sat in its queue too long (watchdog). */
  async requeue(jobs: readonly JobRef[]): Promise<JobBatchResult> {
    return this.#transition(
      jobs.map((job) => entryOf(job, 'QUEUED')),
      {
        to: 'READY',
        changes: () => ({ remove: ['queuedAt', 'retryAfter'] }),
        isRepeat: () => false,
      },
    );
  }

  /**
   * FAILED → READY with attempt + 1: an operator's retry (wms retry). Only while the task is
   * RUNNING or HELD (checked by its counter update); the failed attempt's error is kept until
   * the next attempt ends. A job already retried (attempt + 1) is `unchanged`.
   */
  async retryFailed(jobs: readonly JobRef[]): Promise<JobBatchResult> {
    return this.#transition(
      jobs.map((job) => entryOf(job, 'FAILED')),
      {
        to: 'READY',
        changes: (entry) => ({
          set: { attempt: entry.attempt + 1 },
          remove: [...ATTEMPT_ATTRIBUTES, 'endedAt'],
        }),
        isRepeat: (entry, current) => current.attempt === entry.attempt + 1,
        taskStates: STARTED_TASK_STATES,
      },
    );
  }

  /** Jobs not waiting out a retry backoff at `readyBy`. */
  #readyBy(expression: Expression, readyBy: string): string {
    const retryAfter = expression.name('retryAfter');
    return `attribute_not_exists(${retryAfter}) OR ${retryAfter} <= ${expression.value(readyBy)}`;
  }

  #fileRecords(files: readonly NewFile[]): FileRecord[] {
    const now = this.#now();
    const records = files.map((file, index) => fileRecordOf(file, now, `file ${index}`));
    rejectDuplicates(records.map(fileKey), 'files');
    return records;
  }

  async #transitionOne(entry: TransitionEntry, spec: TransitionSpec): Promise<boolean> {
    const result = await this.#transition([entry], spec);
    const refused = result.refused[0];
    if (refused) throw refused.error;
    return result.applied.length === 1;
  }

  /**
   * One job change with files registered in the same transaction. The job item comes first,
   * the task's counters second, then the files and their datasets' counters; files beyond one
   * transaction go first, each chunk with ConditionChecks of the job and task instead of their
   * writes, so a stale or foreign report registers nothing.
   */
  async #transitionWithFiles(
    entry: TransitionEntry,
    spec: TransitionSpec,
    files: readonly FileRecord[],
    taskStates: readonly TaskState[] | undefined,
  ): Promise<EndAttemptResult> {
    const now = this.#now();
    const jobWrite = this.#jobUpdate(entry, spec, now);
    const taskWrite = this.#counterUpdate(entry.taskId, [entry.from], spec.to, undefined, taskStates);
    const registered = { created: [] as FileRecord[], existing: [] as FileRecord[] };
    let pending = [...files];
    for (;;) {
      const [chunk, rest] = takeForTransaction(pending, TRANSACTION_ITEM_LIMIT - 2);
      const last = rest.length === 0;
      const guards = last ? [jobWrite, taskWrite] : [checkOf(jobWrite), checkOf(taskWrite)];
      const datasets = [...new Set(chunk.map((file) => file.datasetUid))];
      const reasons = await transactWrite(this.#deps.doc, [
        ...guards,
        ...chunk.map((file) => filePut(this.#deps.tables.files, file)),
        ...datasets.map((uid) =>
          datasetCounterUpdate(
            this.#deps.tables.datasets,
            uid,
            chunk.filter((file) => file.datasetUid === uid),
          ),
        ),
      ]);
      if (!reasons) {
        registered.created.push(...chunk);
        if (last) return { status: 'applied', files: registered };
        pending = rest;
        continue;
      }
      const [jobReason, taskReason] = reasons;
      if (refused(jobReason)) {
        return jobReason.item
          ? { status: 'job-refused', current: parseStored(JobRecord, jobReason.item, 'job') }
          : { status: 'job-refused' };
      }
      if (refused(taskReason)) {
        return taskReason.item
          ? { status: 'task-refused', current: parseStored(TaskRecord, taskReason.item, 'task') }
          : { status: 'task-refused' };
      }
      const closedDatasets = new Map<string, ItemRefusal>();
      datasets.forEach((uid, index) => {
        const reason = reasons[2 + chunk.length + index];
        if (refused(reason)) closedDatasets.set(uid, reason);
      });
      const refusals: FileRefusal[] = [];
      const existing = new Set<string>();
      chunk.forEach((file, index) => {
        const reason = reasons[2 + index];
        const datasetRefusal = closedDatasets.get(file.datasetUid);
        if (refused(reason)) {
          const taken = takenNameOutcome(file, reason);
          if ('existing' in taken) {
            registered.existing.push(taken.existing);
            existing.add(fileKey(file));
          } else refusals.push(taken.refused);
        } else if (datasetRefusal) {
          refusals.push(closedDatasetRefusal(file, datasetRefusal));
        }
      });
      if (refusals.length > 0) return { status: 'files-refused', refused: refusals };
      pending = pending.filter((file) => !existing.has(fileKey(file)));
    }
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
        spec.taskStates,
      ),
    );
    const result: JobBatchResult = { applied: outcome.written.map(refOf), unchanged: [], refused: [] };
    for (const { entry, refusedBy, refusal } of outcome.refused) {
      if (refusedBy === 'counter') {
        const error =
          refusal.item && spec.taskStates
            ? new StateConflictError('task', entry.taskId, spec.taskStates)
            : new NotFoundError('task', entry.taskId);
        result.refused.push({ job: refOf(entry), error });
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
    const conditionExpression = conditions.join(' AND ');
    const set = { ...changes.set, ...indexed.set, updatedAt: now };
    const remove = [...new Set([...(changes.remove ?? []), ...indexed.remove])].filter(
      (path) => set[path as keyof typeof set] === undefined,
    );
    return {
      Update: {
        TableName: this.#table,
        Key: { jobId: job.jobId },
        UpdateExpression: expression.update({ set, remove }),
        ConditionExpression: conditionExpression,
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
    taskStates: readonly TaskState[] | undefined,
  ): TransactWriteItem {
    return this.#countersUpdate(
      taskId,
      from.map((state) => ({ from: state, to })),
      extraSet,
      taskStates,
    );
  }

  /** The task's per-state counters moved by jobs changing state, guarded by the task's state. */
  #countersUpdate(
    taskId: string,
    moves: readonly { from: JobState; to: JobState }[],
    extraSet: Record<string, unknown> | undefined,
    taskStates: readonly TaskState[] | undefined,
  ): TransactWriteItem {
    const deltas: Record<string, number> = {};
    for (const { from, to } of moves) {
      deltas[`counts.${from}`] = (deltas[`counts.${from}`] ?? 0) - 1;
      deltas[`counts.${to}`] = (deltas[`counts.${to}`] ?? 0) + 1;
    }
    const expression = new Expression();
    return {
      Update: {
        TableName: this.#deps.tables.tasks,
        Key: { taskId },
        UpdateExpression: expression.update({ add: deltas, set: extraSet }),
        ConditionExpression:
          taskStates === undefined
            ? `attribute_exists(${expression.name('taskId')})`
            : expression.oneOf('state', taskStates),
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        ...expression.attributes(),
      },
    };
  }
}

/**
 * A ConditionCheck with the condition of an Update: the same guard without the write. Only
 * the names and values the condition uses are kept (DynamoDB refuses unused ones).
 */
function checkOf(write: TransactWriteItem): TransactWriteItem {
  const update = write.Update;
  if (!update?.ConditionExpression) throw new Error('a ConditionCheck needs an Update with a condition');
  const condition = update.ConditionExpression;
  const used = (placeholders: Record<string, unknown> | undefined) =>
    placeholders === undefined
      ? undefined
      : Object.fromEntries(
          Object.entries(placeholders).filter(([placeholder]) =>
            new RegExp(`${placeholder}(?![A-Za-z0-9_])`).test(condition),
          ),
        );
  const names = used(update.ExpressionAttributeNames) as Record<string, string> | undefined;
  const values = used(update.ExpressionAttributeValues);
  return {
    ConditionCheck: {
      TableName: update.TableName,
      Key: update.Key,
      ConditionExpression: condition,
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      ...(names && Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
      ...(values && Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
    },
  };
}

function refOf(entry: JobStateRef): JobStateRef {
  return { jobId: entry.jobId, taskId: entry.taskId, attempt: entry.attempt, from: entry.from };
}
