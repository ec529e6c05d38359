/**
 * Task commands, shared by the REST API and the task-commands consumer: register a task,
 * cancel it (its pending jobs cancelled, its running payloads killed through their pilots'
 * control queues) and set its rank. Every step is a conditional write or an idempotent send,
 * so a repeated command changes nothing twice and an interrupted one can simply be repeated.
 */
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { QueueDoesNotExist, SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { z } from 'zod';
import {
  buildPutEventsEntry,
  DETAIL_TYPES,
  KillJobCommand,
  parseOrThrow,
  RegisterTaskRequest,
  type SourceOf,
} from '../../events/index.js';
import {
  AlreadyExistsError,
  ConditionFailedError,
  NotFoundError,
  StateConflictError,
  ValidationError,
  type ValidationIssue,
  WmsError,
} from '../errors/index.js';
import { datasetUidFor } from '../ids/index.js';
import type {
  DatasetKind,
  DatasetRecord,
  DatasetState,
  JobRecord,
  PilotRecord,
  TaskRecord,
  TaskSpec,
} from '../model/index.js';
import type { Repositories } from '../repositories/index.js';
import { CANCELLABLE_JOB_STATES, isOneOf, isTerminal, LIVE_PILOT_STATES } from '../states/index.js';
import { sendJobGenerationMessage } from './job-generation-message.js';

export interface TaskServiceDeps {
  repos: Pick<Repositories, 'tasks' | 'jobs' | 'datasets' | 'pilots'>;
  sqs: SQSClient;
  jobGenerationQueueUrl: string;
  logger: Logger;
  /** Counter shards of a task registered now (DEFAULT_COUNTER_SHARDS when absent). */
  counterShards?: number;
  /** The current time; injectable so tests control timestamps. */
  clock?: () => Date;
}

/** A task exists under this id with another specification: the same id may not mean two tasks. */
export class TaskSpecConflictError extends ConditionFailedError {
  override readonly name: string = 'TaskSpecConflictError';
  constructor(
    taskId: string,
    readonly fields: readonly string[],
  ) {
    super('task', taskId, `task ${taskId} exists with a different ${fields.join(', ')}`);
  }
}

/** An output or log dataset another task writes, or that exists as another kind of dataset. */
export class DatasetInUseError extends ConditionFailedError {
  override readonly name: string = 'DatasetInUseError';
  constructor(datasetName: string, detail: string, options?: ErrorOptions) {
    super('dataset', datasetName, `dataset ${datasetName} ${detail}`, options);
  }
}

/** A pilot's control queue refused kill commands; the cancellation is to be repeated. */
export class KillDeliveryError extends WmsError {
  override readonly name: string = 'KillDeliveryError';
  constructor(
    readonly pilotId: string,
    readonly failedJobIds: readonly string[],
  ) {
    super(`kill commands to pilot ${pilotId} were refused for jobs ${failedJobIds.join(', ')}`);
  }
}

export interface RegisterTaskResult {
  task: TaskRecord;
  /** False when the task existed already with the same specification (a repeated command). */
  created: boolean;
  /** True when this call asked the job generator for the task's jobs. */
  generationRequested: boolean;
}

/** Spec fields a repeated registration must repeat; the rank is left out, it has its own command. */
const COMPARED_SPEC_FIELDS = [
  'name',
  'workflowId',
  'executable',
  'args',
  'device',
  'mode',
  'filesPerJob',
  'maxRetries',
  'inputDatasetUid',
  'outputDataset',
  'logDataset',
  'streaming',
  'failureTolerance',
  'wallTimeSeconds',
  'coresPerJob',
  'memoryBytes',
] as const satisfies readonly (keyof TaskSpec)[];

/** Input dataset states in which all its files are known, so every job can be made. */
const CLOSED_INPUT_STATES: readonly DatasetState[] = ['CLOSED', 'TO_UPLOAD'];
/** Task state changes a concurrent writer can make before ours; one retry per possible change. */
const TASK_RACE_RETRIES = 3;

/** The spec fields in which a stored task differs from a requested one. */
export function specDifferences(stored: TaskSpec, requested: TaskSpec): string[] {
  return COMPARED_SPEC_FIELDS.filter((field) => !isDeepStrictEqual(stored[field], requested[field]));
}

function newTaskId(): string {
  return `t-${randomUUID()}`;
}

function datasetNameIssues(spec: TaskSpec): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  if (spec.logDataset === spec.outputDataset) {
    issues.push({ path: 'logDataset', message: 'must differ from outputDataset' });
  }
  for (const field of ['outputDataset', 'logDataset'] as const) {
    if (datasetUidFor(spec[field]) === spec.inputDatasetUid) {
      issues.push({ path: field, message: 'must not be the input dataset' });
    }
  }
  return issues;
}

async function ensureProducedDataset(
  deps: TaskServiceDeps,
  taskId: string,
  name: string,
  kind: DatasetKind,
): Promise<void> {
  const uid = datasetUidFor(name);
  let dataset: DatasetRecord;
  try {
    ({ dataset } = await deps.repos.datasets.create({ uid, name, kind, producerTaskId: taskId }));
  } catch (error) {
    if (error instanceof AlreadyExistsError) {
      throw new DatasetInUseError(name, `exists as another kind of dataset than ${kind}`, { cause: error });
    }
    throw error;
  }
  if (dataset.producerTaskId !== taskId) {
    throw new DatasetInUseError(
      name,
      `is written by task ${dataset.producerTaskId ?? '(none: an input dataset)'}`,
    );
  }
}

/**
 * Registers a task: REGISTERED with its output and log datasets OPEN, then RUNNING at once
 * when its input dataset is closed (job generation is asked for) or when it is a streaming
 * task (its jobs come file by file). The same taskId with the same specification again
 * returns the stored task (`created: false`) and completes whatever an interrupted earlier
 * registration left undone; another specification under that id is a TaskSpecConflictError.
 */
export async function registerTask(
  deps: TaskServiceDeps,
  request: z.input<typeof RegisterTaskRequest>,
): Promise<RegisterTaskResult> {
  const { taskId = newTaskId(), ...spec } = parseOrThrow(RegisterTaskRequest, request, 'task');
  const issues = datasetNameIssues(spec);
  if (issues.length > 0) throw new ValidationError('invalid task', issues);

  const existing = await deps.repos.tasks.find(taskId);
  const assertSameSpec = (stored: TaskRecord) => {
    const fields = specDifferences(stored, spec);
    if (fields.length > 0) throw new TaskSpecConflictError(taskId, fields);
  };
  if (existing) assertSameSpec(existing);
  await ensureProducedDataset(deps, taskId, spec.outputDataset, 'output');
  await ensureProducedDataset(deps, taskId, spec.logDataset, 'log');
  const { task, created } = existing
    ? { task: existing, created: false }
    : await deps.repos.tasks.create(taskId, spec, { counterShards: deps.counterShards });
  // Another registration of the same id may have won the race since the read.
  if (!created) assertSameSpec(task);
  const started = await startIfReady(deps, task);
  deps.logger.info(created ? 'task registered' : 'task registration repeated', {
    taskId,
    state: started.task.state,
    generationRequested: started.generationRequested,
  });
  return { task: started.task, created, generationRequested: started.generationRequested };
}

/**
 * REGISTERED → RUNNING when the task can make progress, and job generation asked for when
 * its input is closed and no job exists yet, or when a streaming map task finds its input
 * open with files registered before it existed (they get no job from file-input; the
 * generator catches the task up). The input is read after the task was written: a dataset
 * closed meanwhile either shows CLOSED here or finds the task REGISTERED itself.
 */
async function startIfReady(
  deps: TaskServiceDeps,
  task: TaskRecord,
): Promise<{ task: TaskRecord; generationRequested: boolean }> {
  if (task.state !== 'REGISTERED' && task.state !== 'RUNNING') return { task, generationRequested: false };
  const input = await deps.repos.datasets.find(task.inputDatasetUid);
  if (input?.state === 'TO_DELETE') {
    if (task.state !== 'REGISTERED') return { task, generationRequested: false };
    const failed = await moveTask(deps, task, 'FAILED');
    deps.logger.warn('task failed: its input dataset is marked for deletion', { taskId: task.taskId });
    return { task: failed, generationRequested: false };
  }
  const inputClosed = input !== undefined && CLOSED_INPUT_STATES.includes(input.state);
  if (!inputClosed && !task.streaming) return { task, generationRequested: false };
  const running = task.state === 'REGISTERED' ? await moveTask(deps, task, 'RUNNING') : task;
  const generating = running.state === 'RUNNING' && !running.generationComplete;
  const catchUp =
    !inputClosed &&
    running.streaming &&
    running.mode === 'map' &&
    input !== undefined &&
    input.fileCount > running.jobsTotal;
  const generationRequested = generating && ((inputClosed && running.jobsTotal === 0) || catchUp);
  if (generationRequested) {
    await sendJobGenerationMessage(deps.sqs, deps.jobGenerationQueueUrl, { taskId: task.taskId });
  }
  return { task: running, generationRequested };
}

/** REGISTERED → `to`; if another writer moved the task first, the task as it is now. */
async function moveTask(
  deps: TaskServiceDeps,
  task: TaskRecord,
  to: 'RUNNING' | 'FAILED',
): Promise<TaskRecord> {
  try {
    return (await deps.repos.tasks.transition({ taskId: task.taskId, from: 'REGISTERED', to })).task;
  } catch (error) {
    if (error instanceof StateConflictError) return deps.repos.tasks.get(task.taskId);
    throw error;
  }
}

export interface CancelTaskOptions {
  /** Asked before each page of jobs; true stops the sweep, which a repeated cancel resumes. */
  pastDeadline?: () => boolean;
}

export interface CancelTaskResult {
  task: TaskRecord;
  /** `already-final`: the task had ended DONE or FAILED, nothing was changed. */
  outcome: 'cancelled' | 'already-cancelled' | 'already-final';
  jobsCancelled: number;
  killCommandsSent: number;
  /** False when the deadline stopped the sweep: jobs remain to be cancelled by a repeated cancel. */
  complete: boolean;
}

/** One transaction: 99 jobs and their task's counters. */
const CANCEL_PAGE_SIZE = 99;
/** SendMessageBatch takes at most 10 messages. */
const SEND_BATCH_SIZE = 10;

/**
 * Cancels a task: the task → CANCELLED, then its jobs page by page — RUNNING ones get a
 * `job.kill` on their pilot's control queue and end CANCELLED with the pilot's killed result
 * (their log registered; the watchdog covers a pilot that dies meanwhile), RUNNING ones with
 * no live pilot and QUEUED, READY and LOST ones are marked CANCELLED here. A task already CANCELLED is swept again (an
 * interrupted cancel is resumed by repeating it); a DONE or FAILED task is left alone.
 * Unknown task: NotFoundError.
 */
export async function cancelTask(
  deps: TaskServiceDeps,
  taskId: string,
  reason: string,
  options: CancelTaskOptions = {},
): Promise<CancelTaskResult> {
  const { task, outcome } = await markCancelled(deps, taskId);
  const result: CancelTaskResult = { task, outcome, jobsCancelled: 0, killCommandsSent: 0, complete: true };
  if (outcome === 'already-final') return result;
  const pilots = new Map<string, PilotRecord | undefined>();
  for (const state of CANCELLABLE_JOB_STATES) {
    let cursor: string | undefined;
    do {
      if (options.pastDeadline?.()) {
        result.complete = false;
        deps.logger.info('task cancellation stopped at its deadline', { taskId, ...counts(result) });
        return result;
      }
      const page = await deps.repos.jobs.listByTask(taskId, { state, limit: CANCEL_PAGE_SIZE, cursor });
      const jobs = page.items.filter((job) => job.state === state);
      // A running job whose pilot got the kill ends with the pilot's killed result, which
      // registers its log; only jobs no live pilot will report on are cancelled here.
      const killed = state === 'RUNNING' ? await sendKillCommands(deps, jobs, pilots) : new Set<string>();
      result.killCommandsSent += killed.size;
      const cancelled = await deps.repos.jobs.cancel(
        jobs
          .filter((job) => !killed.has(job.jobId))
          .map((job) => ({ jobId: job.jobId, taskId, attempt: job.attempt, from: state })),
      );
      result.jobsCancelled += cancelled.applied.length;
      for (const refusal of cancelled.refused) {
        // The job moved on meanwhile (claimed, finished, retried): the sweep of its new state handles it.
        deps.logger.info('job not cancelled: it changed meanwhile', {
          taskId,
          jobId: refusal.job.jobId,
          reason: refusal.error.message,
        });
      }
      cursor = page.cursor;
    } while (cursor !== undefined);
  }
  deps.logger.info('task cancelled', { taskId, reason, outcome, ...counts(result) });
  return result;
}

/**
 * The `task.cancel` event that resumes a cancellation its deadline stopped: the consumer of
 * task commands repeats the cancel, which picks up the jobs still pending.
 */
export function cancelContinuationEntry(
  eventBusName: string,
  taskId: string,
  reason: string,
  source: SourceOf<typeof DETAIL_TYPES.taskCancel>,
): PutEventsRequestEntry {
  return buildPutEventsEntry({
    detailType: DETAIL_TYPES.taskCancel,
    source,
    detail: { taskId, reason },
    eventBusName,
  });
}

function counts(result: CancelTaskResult) {
  return { jobsCancelled: result.jobsCancelled, killCommandsSent: result.killCommandsSent };
}

async function markCancelled(
  deps: TaskServiceDeps,
  taskId: string,
): Promise<{ task: TaskRecord; outcome: CancelTaskResult['outcome'] }> {
  for (let attempt = 1; ; attempt += 1) {
    const task = await deps.repos.tasks.get(taskId);
    if (task.state === 'CANCELLED') return { task, outcome: 'already-cancelled' };
    if (isTerminal('task', task.state)) return { task, outcome: 'already-final' };
    try {
      const change = await deps.repos.tasks.transition({ taskId, from: task.state, to: 'CANCELLED' });
      return { task: change.task, outcome: change.applied ? 'cancelled' : 'already-cancelled' };
    } catch (error) {
      // The task moved (e.g. REGISTERED → RUNNING) between the read and the write: read again.
      if (!(error instanceof StateConflictError) || attempt >= TASK_RACE_RETRIES) throw error;
    }
  }
}

/**
 * Sends `job.kill` for each running job to its pilot's control queue, batched per pilot.
 * Pilots that are gone (LOST, EXITED, queue deleted) are skipped: nothing runs there to
 * kill. A refused send throws KillDeliveryError, so the cancellation is repeated.
 */
async function sendKillCommands(
  deps: TaskServiceDeps,
  jobs: readonly JobRecord[],
  pilots: Map<string, PilotRecord | undefined>,
): Promise<Set<string>> {
  const byPilot = new Map<string, JobRecord[]>();
  for (const job of jobs) {
    if (job.pilotId !== undefined) byPilot.set(job.pilotId, [...(byPilot.get(job.pilotId) ?? []), job]);
  }
  const sent = new Set<string>();
  for (const [pilotId, pilotJobs] of byPilot) {
    if (!pilots.has(pilotId)) pilots.set(pilotId, await deps.repos.pilots.find(pilotId));
    const pilot = pilots.get(pilotId);
    if (pilot?.controlQueueUrl === undefined || !isOneOf(LIVE_PILOT_STATES, pilot.state)) {
      deps.logger.info('no kill sent: the pilot is gone', { pilotId, state: pilot?.state ?? 'unknown' });
      continue;
    }
    for (const jobId of await sendToControlQueue(deps, pilot, pilotJobs)) sent.add(jobId);
  }
  return sent;
}

async function sendToControlQueue(
  deps: TaskServiceDeps,
  pilot: PilotRecord,
  jobs: readonly JobRecord[],
): Promise<string[]> {
  const issuedAt = (deps.clock?.() ?? new Date()).toISOString();
  const sent: string[] = [];
  for (let start = 0; start < jobs.length; start += SEND_BATCH_SIZE) {
    const batch = jobs.slice(start, start + SEND_BATCH_SIZE);
    const entries = batch.map((job, index) => ({
      Id: String(index),
      MessageBody: JSON.stringify(
        KillJobCommand.parse({
          type: 'job.kill',
          jobId: job.jobId,
          attempt: job.attempt,
          reason: 'cancelled',
          issuedAt,
        }),
      ),
    }));
    try {
      const response = await deps.sqs.send(
        new SendMessageBatchCommand({ QueueUrl: pilot.controlQueueUrl, Entries: entries }),
      );
      const failed = (response.Failed ?? []).map(
        (entry) => batch[Number(entry.Id)]?.jobId ?? String(entry.Id),
      );
      if (failed.length > 0) throw new KillDeliveryError(pilot.pilotId, failed);
      for (const entry of response.Successful ?? []) {
        const job = batch[Number(entry.Id)];
        if (job) sent.push(job.jobId);
      }
    } catch (error) {
      if (!(error instanceof QueueDoesNotExist)) throw error;
      deps.logger.info('no kill sent: the pilot control queue is gone', { pilotId: pilot.pilotId });
      return sent;
    }
  }
  for (const job of jobs) deps.logger.info('kill command sent', { jobId: job.jobId, pilotId: pilot.pilotId });
  return sent;
}

export interface SetTaskRankResult {
  task: TaskRecord;
  /** False when the task already had this rank as its base and effective rank. */
  changed: boolean;
}

/**
 * Sets a task's base rank and its effective rank to `rank`, conditional on the version read
 * (a concurrent change, e.g. aging, makes it read and try again). A DONE, FAILED or
 * CANCELLED task is refused with StateConflictError; an unknown one with NotFoundError.
 */
export async function setTaskRank(
  deps: TaskServiceDeps,
  taskId: string,
  rank: number,
): Promise<SetTaskRankResult> {
  for (let attempt = 1; ; attempt += 1) {
    const task = await deps.repos.tasks.get(taskId);
    if (isTerminal('task', task.state))
      throw new StateConflictError('task', taskId, ['REGISTERED', 'RUNNING']);
    if (task.rank === rank && task.baseRank === rank) return { task, changed: false };
    try {
      const updated = await deps.repos.tasks.setRank({
        taskId,
        rank,
        baseRank: rank,
        expectedVersion: task.version,
      });
      deps.logger.info('task rank set', {
        taskId,
        rank,
        previousRank: task.rank,
        previousBaseRank: task.baseRank,
      });
      return { task: updated, changed: true };
    } catch (error) {
      const versionMoved = error instanceof ConditionFailedError && !(error instanceof NotFoundError);
      if (!versionMoved || attempt >= TASK_RACE_RETRIES) throw error;
    }
  }
}
