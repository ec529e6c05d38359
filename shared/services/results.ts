/**
 * Applying what pilots report on the status queue: phase progress of a running job, and the
 * final result of an attempt (outputs and log registered, job DONE; or retried / FAILED /
 * CANCELLED), with the `file.registered` events to publish.
 */
import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import {
  buildPutEventsEntry,
  DETAIL_TYPES,
  EVENT_SOURCES,
  type JobProgressMessage,
  type JobResultMessage,
  type PilotStatusMessage,
} from '../../events/index.js';
import { ConditionFailedError, ERRORS, NotFoundError } from '../errors/index.js';
import type { FileRecord, JobRecord, OutputFile, TaskRecord } from '../model/index.js';
import type { NewFile, Repositories } from '../repositories/index.js';
import { decideRetry, type RetryPolicyInput } from '../retry/index.js';
import { ensureTaskDataset, taskDatasetOf } from './datasets.js';

export interface ResultDeps {
  repos: Pick<Repositories, 'jobs' | 'tasks' | 'files' | 'datasets'>;
  eventBusName: string;
  retryPolicy?: RetryPolicyInput;
  /** The current time; injectable so tests control the retry time. */
  clock?: () => Date;
}

/** What applying one status message did, and the events it leaves to publish. */
export type StatusOutcome =
  | { kind: 'progress'; advanced: boolean }
  | { kind: 'done'; events: PutEventsRequestEntry[] }
  | { kind: 'retried'; nextAttempt: number; retryAfter: string; events: PutEventsRequestEntry[] }
  | { kind: 'failed'; errorCode: number; reason: string; events: PutEventsRequestEntry[] }
  | { kind: 'cancelled'; events: PutEventsRequestEntry[] }
  /** The result was applied before (a redelivery): its registered files are announced again. */
  | { kind: 'repeated'; events: PutEventsRequestEntry[] }
  /** Stale, foreign or for a job that moved on: nothing changes. */
  | { kind: 'ignored'; reason: string };

export type ResultVerdict =
  | { verdict: 'apply' }
  | { verdict: 'repeat' }
  | { verdict: 'ignore'; reason: string };

type ResultIdentity = Pick<
  JobResultMessage,
  'jobId' | 'taskId' | 'attempt' | 'claimToken' | 'outcome' | 'errorCode'
>;

/**
 * Whether a result applies to the job as it is: only to the RUNNING attempt it was claimed
 * for, with its claim token. A result the job already shows (DONE/FAILED/CANCELLED at that
 * attempt and token, or a failure already retried into the next attempt) is a repeat; any
 * other is stale or foreign and ignored.
 */
export function judgeResult(job: JobRecord | undefined, result: ResultIdentity): ResultVerdict {
  if (!job) return { verdict: 'ignore', reason: `job ${result.jobId} does not exist` };
  if (job.taskId !== result.taskId) {
    return {
      verdict: 'ignore',
      reason: `job ${result.jobId} belongs to task ${job.taskId}, not ${result.taskId}`,
    };
  }
  const retriedIntoNext =
    result.outcome === 'FAILED' && job.attempt === result.attempt + 1 && job.errorCode === result.errorCode;
  if (retriedIntoNext) return { verdict: 'repeat' };
  if (job.attempt !== result.attempt) {
    return {
      verdict: 'ignore',
      reason: `attempt ${result.attempt} is not the current attempt ${job.attempt}`,
    };
  }
  if (job.claimToken !== result.claimToken)
    return { verdict: 'ignore', reason: 'the claim token does not match' };
  if (job.state === 'RUNNING') return { verdict: 'apply' };
  const settledByResult =
    job.state === 'CANCELLED' ||
    (job.state === 'DONE' && result.outcome === 'DONE') ||
    (job.state === 'FAILED' && result.outcome === 'FAILED');
  if (settledByResult) return { verdict: 'repeat' };
  return { verdict: 'ignore', reason: `job is ${job.state}` };
}

/** The retry time of a failed attempt: `delaySeconds` after `now`. */
export function retryAfterOf(now: Date, delaySeconds: number): string {
  return new Date(now.getTime() + delaySeconds * 1000).toISOString();
}

/** Applies one status message. */
export async function applyPilotStatus(
  deps: ResultDeps,
  message: PilotStatusMessage,
): Promise<StatusOutcome> {
  if (message.type === 'job.progress') return applyProgress(deps, message);
  return applyResult(deps, message);
}

async function applyProgress(deps: ResultDeps, message: JobProgressMessage): Promise<StatusOutcome> {
  try {
    const advanced = await deps.repos.jobs.updatePhase({
      jobId: message.jobId,
      taskId: message.taskId,
      attempt: message.attempt,
      claimToken: message.claimToken,
      phase: message.phase,
      at: message.at,
    });
    return { kind: 'progress', advanced };
  } catch (error) {
    // Stale attempt, foreign token, finished or unknown job: a late report changes nothing.
    if (error instanceof ConditionFailedError) return { kind: 'ignored', reason: error.message };
    throw error;
  }
}

async function applyResult(deps: ResultDeps, result: JobResultMessage): Promise<StatusOutcome> {
  const { repos } = deps;
  const [job, task] = await Promise.all([repos.jobs.find(result.jobId), repos.tasks.find(result.taskId)]);
  const judged = judgeResult(job, result);
  if (judged.verdict === 'ignore') return { kind: 'ignored', reason: judged.reason };
  if (!task) return { kind: 'ignored', reason: `task ${result.taskId} does not exist` };
  if (judged.verdict === 'repeat')
    return { kind: 'repeated', events: await announceRegistered(deps, task, result) };
  try {
    if (task.state !== 'RUNNING') return await cancelResult(deps, task, result);
    if (result.outcome === 'DONE') return await completeResult(deps, task, result);
    return await failResult(deps, task, result);
  } catch (error) {
    // The job moved on between the read and the write (cancelled, lost): this result is late.
    if (error instanceof ConditionFailedError && error.entity === 'job')
      return { kind: 'ignored', reason: error.message };
    throw error;
  }
}

function refOf(result: JobResultMessage) {
  return {
    jobId: result.jobId,
    taskId: result.taskId,
    attempt: result.attempt,
    claimToken: result.claimToken,
  };
}

/** A task no longer RUNNING (cancelled): its job ends CANCELLED, keeping only the log. */
async function cancelResult(
  deps: ResultDeps,
  task: TaskRecord,
  result: JobResultMessage,
): Promise<StatusOutcome> {
  const { registered } = await registerFiles(deps, task, result.jobId, logsOf(result.outputs));
  const outcome = await deps.repos.jobs.cancel([{ ...refOf(result), from: 'RUNNING' }]);
  const refused = outcome.refused[0];
  if (refused) return { kind: 'ignored', reason: refused.error.message };
  return { kind: 'cancelled', events: fileEvents(deps, task, result.jobId, registered) };
}

async function completeResult(
  deps: ResultDeps,
  task: TaskRecord,
  result: JobResultMessage,
): Promise<StatusOutcome> {
  // Files first: once the job is DONE the task may finish and its datasets close.
  const { registered, conflicts } = await registerFiles(deps, task, result.jobId, result.outputs);
  if (conflicts.length > 0) {
    const reason = conflicts.map(describeOutputConflict).join('; ');
    await deps.repos.jobs.fail({
      ...refOf(result),
      from: 'RUNNING',
      errorCode: ERRORS.STAGE_OUT_INVALID_OUTPUT.code,
      errorMessage: reason,
      exitCode: result.exitCode,
      phaseTimes: result.phaseTimes,
    });
    return {
      kind: 'failed',
      errorCode: ERRORS.STAGE_OUT_INVALID_OUTPUT.code,
      reason,
      events: fileEvents(deps, task, result.jobId, registered),
    };
  }
  await deps.repos.jobs.complete({
    ...refOf(result),
    outputs: result.outputs,
    exitCode: result.exitCode,
    phaseTimes: result.phaseTimes,
  });
  return { kind: 'done', events: fileEvents(deps, task, result.jobId, registered) };
}

async function failResult(
  deps: ResultDeps,
  task: TaskRecord,
  result: JobResultMessage,
): Promise<StatusOutcome> {
  const { registered } = await registerFiles(deps, task, result.jobId, logsOf(result.outputs));
  const events = fileEvents(deps, task, result.jobId, registered);
  const failure = {
    ...refOf(result),
    from: 'RUNNING' as const,
    errorCode: result.errorCode,
    errorMessage: result.errorMessage,
    exitCode: result.exitCode,
    phaseTimes: result.phaseTimes,
  };
  const decision = decideRetry({
    errorCode: result.errorCode,
    attempt: result.attempt,
    maxRetries: task.maxRetries,
    policy: deps.retryPolicy,
  });
  if (decision.action === 'retry') {
    const retryAfter = retryAfterOf(deps.clock?.() ?? new Date(), decision.delaySeconds);
    await deps.repos.jobs.retry(failure);
    return { kind: 'retried', nextAttempt: decision.nextAttempt, retryAfter, events };
  }
  await deps.repos.jobs.fail(failure);
  return { kind: 'failed', errorCode: result.errorCode, reason: decision.reason, events };
}

function logsOf(outputs: readonly OutputFile[]): OutputFile[] {
  return outputs.filter((file) => file.kind === 'log');
}

interface Registration {
  /** Registered now or before with the same content. */
  registered: FileRecord[];
  /** Names taken by a file with other content. */
  conflicts: { file: FileRecord; current: FileRecord }[];
}

function newFileOf(task: TaskRecord, jobId: string, file: OutputFile): NewFile {
  return { datasetUid: taskDatasetOf(task, file.kind).uid, jobId, ...file };
}

/**
 * Registers a job's files in the task's output and log datasets (one transaction for both),
 * creating a dataset on its first file. A dataset that is no longer OPEN refuses them with
 * StateConflictError, thrown so the message is retried and then dead-lettered with the reason.
 */
async function registerFiles(
  deps: ResultDeps,
  task: TaskRecord,
  jobId: string,
  files: readonly OutputFile[],
): Promise<Registration> {
  const registration: Registration = { registered: [], conflicts: [] };
  if (files.length === 0) return registration;
  const { repos } = deps;
  let pending = files.map((file) => newFileOf(task, jobId, file));
  for (let round = 0; pending.length > 0; round += 1) {
    const result = await repos.files.registerMany(pending);
    registration.registered.push(...result.created, ...result.existing);
    const missingDatasets = new Set<string>();
    const retry: NewFile[] = [];
    for (const refusal of result.refused) {
      if (refusal.current) registration.conflicts.push({ file: refusal.file, current: refusal.current });
      else if (refusal.error instanceof NotFoundError && round === 0) {
        missingDatasets.add(refusal.file.kind);
        retry.push(refusal.file);
      } else throw refusal.error;
    }
    for (const kind of missingDatasets)
      await ensureTaskDataset(repos.datasets, task, kind === 'log' ? 'log' : 'output');
    pending = retry;
  }
  return registration;
}

function describeOutputConflict(conflict: { file: FileRecord; current: FileRecord }): string {
  const owner = conflict.current.jobId === undefined ? 'another producer' : `job ${conflict.current.jobId}`;
  return `output ${conflict.file.name} is already registered in ${conflict.file.datasetUid} by ${owner} with other content`;
}

/** The files of a repeated result that are registered as this job's, to announce again. */
async function announceRegistered(
  deps: ResultDeps,
  task: TaskRecord,
  result: JobResultMessage,
): Promise<PutEventsRequestEntry[]> {
  const files = result.outcome === 'DONE' ? result.outputs : logsOf(result.outputs);
  const byDataset = new Map<string, OutputFile[]>();
  for (const file of files) {
    const uid = taskDatasetOf(task, file.kind).uid;
    byDataset.set(uid, [...(byDataset.get(uid) ?? []), file]);
  }
  const registered: FileRecord[] = [];
  for (const [uid, wanted] of byDataset) {
    const found = await deps.repos.files.getMany(
      uid,
      wanted.map((file) => file.name),
    );
    registered.push(
      ...found.filter((file) =>
        wanted.some(
          (want) => want.name === file.name && want.checksum === file.checksum && file.jobId === result.jobId,
        ),
      ),
    );
  }
  return fileEvents(deps, task, result.jobId, registered);
}

function fileEvents(
  deps: ResultDeps,
  task: TaskRecord,
  jobId: string,
  files: readonly FileRecord[],
): PutEventsRequestEntry[] {
  return files.map((file) => {
    const kind = file.kind === 'log' ? 'log' : 'output';
    return buildPutEventsEntry({
      detailType: DETAIL_TYPES.fileRegistered,
      source: EVENT_SOURCES.wms,
      eventBusName: deps.eventBusName,
      detail: {
        datasetUid: file.datasetUid,
        datasetName: taskDatasetOf(task, kind).name,
        kind,
        file: { name: file.name, location: file.location, size: file.size, checksum: file.checksum },
        jobId,
        taskId: task.taskId,
        at: file.registeredAt,
      },
    });
  });
}
