/**
 * The one write path of job state changes, shared by the parts of the jobs repository: a job
 * update guarded by the expected state, task and attempt (and claim token or pilot), made in
 * the same transaction as the update of its task's counter shard (job-counters.ts), and the
 * reading of a refusal back into a domain error.
 */
import type { TransactWriteItem } from '@aws-sdk/lib-dynamodb';
import type { z } from 'zod';
import {
  ConditionFailedError,
  NotFoundError,
  StaleAttemptError,
  StateConflictError,
  ValidationError,
} from '../errors/index.js';
import { type FileRecord, JobRecord, type JobState, type TaskState } from '../model/index.js';
import { assertTransition, IN_FLIGHT_JOB_STATES, isOneOf } from '../states/index.js';
import {
  type BatchEntry,
  type ItemRefusal,
  parseStored,
  rejectDuplicates,
  timestamp,
  writeBatch,
} from './dynamo.js';
import { Expression } from './expressions.js';
import { fileKey, fileRecordOf, type NewFile } from './file-writes.js';
import {
  counterShardsOf,
  countersUpdates,
  type JobMove,
  shardCounterKey,
  shardCountersUpdate,
} from './job-counters.js';
import type { JobBatchResult, JobRef, JobRefusal, JobStateRef, RepositoryDeps, StoredItem } from './types.js';

/** One job change: the expected state and attempt, plus the claim token or pilot it must still hold. */
export interface TransitionEntry extends JobStateRef {
  claimToken?: string;
  pilotId?: string;
}

export interface TransitionSpec {
  to: JobState;
  changes(entry: TransitionEntry, now: string): { set?: Record<string, unknown>; remove?: string[] };
  /** True when the job already shows this change was made: a repeated request. */
  isRepeat(entry: TransitionEntry, current: JobRecord): boolean;
  /** Attributes set on each counter shard the change moves (e.g. lastServedAt). */
  taskSet?(now: string): Record<string, unknown>;
  /** States the task must be in for the change; any existing task when absent. */
  taskStates?: readonly TaskState[];
}

/**
 * Picks exactly the guarded fields, so a caller passing a whole record (which has pilotId and
 * claimToken) never adds a guard it did not mean.
 */
export function entryOf(
  job: JobRef,
  from: JobState,
  guards: { claimToken?: string | undefined; pilotId?: string | undefined } = {},
): TransitionEntry {
  const entry: TransitionEntry = { jobId: job.jobId, taskId: job.taskId, attempt: job.attempt, from };
  if (guards.claimToken !== undefined) entry.claimToken = guards.claimToken;
  if (guards.pilotId !== undefined) entry.pilotId = guards.pilotId;
  return entry;
}

export function checked<Schema extends z.ZodType>(
  schema: Schema,
  value: unknown,
  subject: string,
): z.infer<Schema> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw ValidationError.fromZod(subject, parsed.error);
  return parsed.data;
}

/**
 * The index attributes that follow a job's state: `stateKey` always, `inFlightState` only
 * while in flight, `activePilotId` only while RUNNING (sparse indexes).
 */
function stateAttributes(jobId: string, state: JobState, pilotId?: string) {
  const set: Record<string, unknown> = { state, stateKey: `${state}#${jobId}` };
  const remove: string[] = [];
  if (isOneOf(IN_FLIGHT_JOB_STATES, state)) set.inFlightState = state;
  else remove.push('inFlightState');
  if (state === 'RUNNING' && pilotId !== undefined) set.activePilotId = pilotId;
  else remove.push('activePilotId');
  return { set, remove };
}

/** A new job's item, with the index attributes of its state. */
export function storedJob(record: JobRecord): StoredItem {
  return { ...record, ...stateAttributes(record.jobId, record.state, record.pilotId).set };
}

/** Why a job change was refused, judged from the job as it is now. */
export function refusalError(entry: TransitionEntry, current: JobRecord | undefined): ConditionFailedError {
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

/** True when a transaction item was refused by its condition. */
export function refused(reason: ItemRefusal | undefined): reason is ItemRefusal {
  return reason?.code === 'ConditionalCheckFailed';
}

/**
 * A ConditionCheck with the condition of an Update: the same guard without the write. Only
 * the names and values the condition uses are kept (DynamoDB refuses unused ones).
 */
export function checkOf(write: TransactWriteItem): TransactWriteItem {
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

/** The write machinery over one client, set of tables and clock. */
export class JobTransitions {
  readonly #deps: RepositoryDeps;

  constructor(deps: RepositoryDeps) {
    this.#deps = deps;
  }

  now(): string {
    return timestamp(this.#deps.clock);
  }

  /** `files` as records stamped now; duplicates refused. */
  fileRecords(files: readonly NewFile[]): FileRecord[] {
    const now = this.now();
    const records = files.map((file, index) => fileRecordOf(file, now, `file ${index}`));
    rejectDuplicates(records.map(fileKey), 'files');
    return records;
  }

  /** One change through `transition`; its refusal thrown. False when it was a repeat. */
  async transitionOne(entry: TransitionEntry, spec: TransitionSpec): Promise<boolean> {
    const result = await this.transition([entry], spec);
    const refusal = result.refused[0];
    if (refusal) throw refusal.error;
    return result.applied.length === 1;
  }

  /**
   * The one write path of job state changes: per job, an update guarded by state, task,
   * attempt (and claim token / pilot when given); per counter shard of a task in the same
   * transaction, its counters moved by exactly the jobs written.
   */
  async transition(jobs: readonly TransitionEntry[], spec: TransitionSpec): Promise<JobBatchResult> {
    rejectDuplicates(
      jobs.map((job) => job.jobId),
      'jobs',
    );
    for (const job of jobs) assertTransition('job', job.from, spec.to);
    const shardsOf = await this.counterShardsOf(jobs.map((job) => job.taskId));
    const now = this.now();
    const entries: BatchEntry<TransitionEntry>[] = jobs.map((job) => ({
      entry: job,
      counterKey: shardCounterKey(job.taskId, shardsOf(job.taskId), job.jobId),
      write: this.jobUpdate(job, spec, now),
    }));
    const outcome = await writeBatch(this.#deps.doc, entries, (_key, written) => {
      const { taskId } = written[0]!.entry;
      return shardCountersUpdate(
        this.#deps.tables.tasks,
        taskId,
        shardsOf(taskId),
        written.map(({ entry }) => ({ jobId: entry.jobId, from: entry.from, to: spec.to })),
        spec.taskSet?.(now),
        spec.taskStates,
      );
    });
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
        const jobRefusal: JobRefusal = { job: refOf(entry), error: refusalError(entry, current) };
        if (current) jobRefusal.current = current;
        result.refused.push(jobRefusal);
      }
    }
    return result;
  }

  /** The job's update for `spec`, guarded by its expected state, task, attempt and held claim. */
  jobUpdate(job: TransitionEntry, spec: TransitionSpec, now: string): TransactWriteItem {
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
        TableName: this.#deps.tables.jobs,
        Key: { jobId: job.jobId },
        UpdateExpression: expression.update({ set, remove }),
        ConditionExpression: conditionExpression,
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        ...expression.attributes(),
      },
    };
  }

  /** How many counter shards each of these tasks has (undefined for a task that does not exist). */
  counterShardsOf(taskIds: Iterable<string>): Promise<(taskId: string) => number | undefined> {
    return counterShardsOf(this.#deps, taskIds);
  }

  /** The update of the counter shard of one job moving, guarded by the task's state. */
  counterUpdate(
    taskId: string,
    counterShards: number | undefined,
    move: JobMove,
    extraSet: Record<string, unknown> | undefined,
    taskStates: readonly TaskState[] | undefined,
  ): TransactWriteItem {
    return shardCountersUpdate(this.#deps.tables.tasks, taskId, counterShards, [move], extraSet, taskStates);
  }

  /** The updates of a task's counter shards moved by `moves`, guarded by the task's state. */
  countersUpdates(
    taskId: string,
    counterShards: number | undefined,
    moves: readonly JobMove[],
    extraSet: Record<string, unknown> | undefined,
    taskStates: readonly TaskState[] | undefined,
  ): TransactWriteItem[] {
    return countersUpdates(this.#deps.tables.tasks, taskId, counterShards, moves, extraSet, taskStates);
  }
}
