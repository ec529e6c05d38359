/**
 * An operator's commands on tasks, jobs and pilots: hold and release a task, retry failed
 * jobs, drain or kill a pilot, read an attempt's log. Each state change is a conditional
 * write of the repositories; commands to a pilot go to its control queue.
 */
import { GetObjectCommand, NoSuchKey, type S3Client } from '@aws-sdk/client-s3';
import { QueueDoesNotExist, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { PilotControlCommand } from '../../events/index.js';
import { TaskArchivedError } from '../archive/index.js';
import { NotFoundError, StateConflictError } from '../errors/index.js';
import { datasetUidFor } from '../ids/index.js';
import type { FileRecord, JobRecord, PilotRecord, TaskRecord } from '../model/index.js';
import type { JobBatchResult, Repositories } from '../repositories/index.js';
import {
  isOneOf,
  LIVE_PILOT_STATES,
  OPERATOR_RETRYABLE_JOB_STATES,
  STARTED_TASK_STATES,
} from '../states/index.js';
import type { ArchiveStore } from './archive-store.js';
import { archivedJob } from './archived-reads.js';

/** Failed jobs of a task retried by one command, at most (a bounded request; repeat it for more). */
export const RETRY_MAX_JOBS = 1000;
/** The most of a log one request returns: its end, when the log is longer. */
export const LOG_MAX_BYTES = 1024 * 1024;
const RETRY_PAGE_SIZE = 100;

export interface OperatorDeps {
  repos: Pick<Repositories, 'tasks' | 'jobs' | 'pilots' | 'files'>;
  sqs: SQSClient;
  s3: S3Client;
  /** Where archived tasks' exports are read (an archived job's log record). */
  archive?: ArchiveStore;
  clock?: () => Date;
}

/** An archived task's jobs are read-only: its export is their record. */
function refuseArchived(task: TaskRecord): void {
  if (task.archive !== undefined) throw new TaskArchivedError(task.taskId, task.archive.archivedAt);
}

export interface TaskHoldResult {
  task: TaskRecord;
  /** False when the task was in the wanted state already. */
  changed: boolean;
}

async function moveHeld(
  deps: OperatorDeps,
  taskId: string,
  from: 'RUNNING' | 'HELD',
  to: 'RUNNING' | 'HELD',
): Promise<TaskHoldResult> {
  const task = await deps.repos.tasks.get(taskId);
  if (task.state === to) return { task, changed: false };
  if (task.state !== from) throw new StateConflictError('task', taskId, [from]);
  const change = await deps.repos.tasks.transition({ taskId, from, to });
  return { task: change.task, changed: change.applied };
}

/**
 * RUNNING → HELD: its READY jobs are no longer dispatched; running ones finish. Its QUEUED
 * jobs go back to READY (same attempt), so a pilot taking their messages finds them not
 * claimable and drops them; no job is queued after the hold (the dispatcher queues only for
 * RUNNING tasks, conditionally). Holding a HELD task again repeats that sweep.
 */
export async function holdTask(deps: OperatorDeps, taskId: string): Promise<TaskHoldResult> {
  const result = await moveHeld(deps, taskId, 'RUNNING', 'HELD');
  let cursor: string | undefined;
  do {
    const page = await deps.repos.jobs.listByTask(taskId, {
      state: 'QUEUED',
      limit: RETRY_PAGE_SIZE,
      cursor,
    });
    const queued = page.items.filter((job) => job.state === 'QUEUED');
    if (queued.length > 0) await deps.repos.jobs.requeue(queued);
    cursor = page.cursor;
  } while (cursor !== undefined);
  return result;
}

/** HELD → RUNNING: dispatch resumes; a task whose jobs all ended meanwhile then completes. */
export function releaseTask(deps: OperatorDeps, taskId: string): Promise<TaskHoldResult> {
  return moveHeld(deps, taskId, 'HELD', 'RUNNING');
}

export interface RetryReport {
  /** Jobs now READY with their next attempt. */
  retried: { jobId: string; attempt: number }[];
  /** Jobs that were retried already by an earlier request. */
  unchanged: string[];
  /** Jobs the retry was refused for, and why. */
  refused: { jobId: string; reason: string }[];
  /** More failed jobs are left than one request retries: repeat it. */
  more: boolean;
}

function reportOf(result: JobBatchResult): Omit<RetryReport, 'more'> {
  return {
    retried: result.applied.map((job) => ({ jobId: job.jobId, attempt: job.attempt + 1 })),
    unchanged: result.unchanged.map((job) => job.jobId),
    refused: result.refused.map((refusal) => ({ jobId: refusal.job.jobId, reason: refusal.error.message })),
  };
}

/** FAILED → READY with the next attempt, for one job. Its task must be RUNNING or HELD. */
export async function retryJob(deps: OperatorDeps, jobId: string): Promise<RetryReport> {
  const job = await deps.repos.jobs.get(jobId);
  refuseArchived(await deps.repos.tasks.get(job.taskId));
  if (!isOneOf(OPERATOR_RETRYABLE_JOB_STATES, job.state)) {
    throw new StateConflictError('job', jobId, OPERATOR_RETRYABLE_JOB_STATES);
  }
  return { ...reportOf(await deps.repos.jobs.retryFailed([job])), more: false };
}

/** FAILED → READY for up to RETRY_MAX_JOBS failed jobs of a task (RUNNING or HELD). */
export async function retryFailedJobs(deps: OperatorDeps, taskId: string): Promise<RetryReport> {
  const task = await deps.repos.tasks.get(taskId);
  refuseArchived(task);
  if (!isOneOf(STARTED_TASK_STATES, task.state)) {
    throw new StateConflictError('task', taskId, STARTED_TASK_STATES);
  }
  const report: RetryReport = { retried: [], unchanged: [], refused: [], more: false };
  const failed: JobRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await deps.repos.jobs.listByTask(taskId, {
      state: 'FAILED',
      limit: RETRY_PAGE_SIZE,
      cursor,
    });
    failed.push(...page.items.filter((job) => job.state === 'FAILED'));
    cursor = page.cursor;
  } while (cursor !== undefined && failed.length < RETRY_MAX_JOBS);
  report.more = cursor !== undefined || failed.length > RETRY_MAX_JOBS;
  const chosen = failed.slice(0, RETRY_MAX_JOBS);
  for (let start = 0; start < chosen.length; start += RETRY_PAGE_SIZE) {
    const part = reportOf(await deps.repos.jobs.retryFailed(chosen.slice(start, start + RETRY_PAGE_SIZE)));
    report.retried.push(...part.retried);
    report.unchanged.push(...part.unchanged);
    report.refused.push(...part.refused);
  }
  return report;
}

export type PilotCommandType = 'pilot.drain' | 'pilot.kill';

/**
 * Sends `pilot.drain` (finish the running jobs, take no new ones, exit) or `pilot.kill` (stop
 * now as on SIGTERM: running payloads are stopped and their jobs go back for another attempt)
 * to a live pilot's control queue. A pilot that is gone is a StateConflictError.
 */
export async function commandPilot(
  deps: OperatorDeps,
  pilotId: string,
  type: PilotCommandType,
): Promise<PilotRecord> {
  const pilot = await deps.repos.pilots.get(pilotId);
  if (!isOneOf(LIVE_PILOT_STATES, pilot.state) || pilot.controlQueueUrl === undefined) {
    throw new StateConflictError('pilot', pilotId, LIVE_PILOT_STATES);
  }
  const command = PilotControlCommand.parse({ type, issuedAt: (deps.clock?.() ?? new Date()).toISOString() });
  try {
    await deps.sqs.send(
      new SendMessageCommand({ QueueUrl: pilot.controlQueueUrl, MessageBody: JSON.stringify(command) }),
    );
  } catch (error) {
    // The pilot exited between the read and the send.
    if (error instanceof QueueDoesNotExist) throw new StateConflictError('pilot', pilotId, LIVE_PILOT_STATES);
    throw error;
  }
  return pilot;
}

export interface JobLog {
  jobId: string;
  attempt: number;
  bucket: string;
  key: string;
  /** The log's whole size in bytes. */
  size: number;
  /** What is returned: the log, or its last LOG_MAX_BYTES (then `truncated`). */
  text: string;
  truncated: boolean;
}

/** The registered name of a job attempt's log in its task's log dataset. */
export function logFileName(jobId: string, attempt: number): string {
  return `${jobId}.${attempt}.log`;
}

/**
 * The log of one attempt of a job (its latest when `attempt` is absent), read from the store
 * where the log dataset registered it: its end when it is longer than LOG_MAX_BYTES.
 */
export async function readJobLog(
  deps: OperatorDeps,
  jobId: string,
  attempt?: number,
  taskIdOfJob?: string,
): Promise<JobLog> {
  const found = await deps.repos.jobs.find(jobId);
  const taskId = found?.taskId ?? taskIdOfJob;
  if (taskId === undefined || (taskIdOfJob !== undefined && taskId !== taskIdOfJob))
    throw new NotFoundError('job', jobId);
  const task = await deps.repos.tasks.get(taskId);
  const logDataset = datasetUidFor(task.logDataset);
  let job: Pick<JobRecord, 'attempt'> | undefined = found;
  let logs: FileRecord[] | undefined;
  if (task.archive !== undefined && deps.archive !== undefined) {
    // The export is the record of an archived task's jobs and logs, whether or not their items expired.
    const archived = await archivedJob(deps.archive, task, jobId, logDataset);
    job = archived.job;
    logs = archived.files;
  }
  if (job === undefined) throw new NotFoundError('job', jobId);
  const wanted = attempt ?? job.attempt;
  const name = logFileName(jobId, wanted);
  const file = logs ? logs.find((log) => log.name === name) : await deps.repos.files.find(logDataset, name);
  if (!file) throw new NotFoundError('log', name);
  const { bucket, key } = file.location;
  const truncated = file.size > LOG_MAX_BYTES;
  try {
    const object = await deps.s3.send(
      new GetObjectCommand({
        Bucket: bucket,
        Key: key,
        ...(truncated ? { Range: `bytes=-${LOG_MAX_BYTES}` } : {}),
      }),
    );
    const text = (await object.Body?.transformToString('utf8')) ?? '';
    return { jobId, attempt: wanted, bucket, key, size: file.size, text, truncated };
  } catch (error) {
    if (error instanceof NoSuchKey) throw new NotFoundError('log object', `s3://${bucket}/${key}`);
    throw error;
  }
}

/** The logs the attempts of a job registered, first attempt first (one BatchGetItem). */
export async function attemptLogs(
  deps: Pick<OperatorDeps, 'repos'>,
  job: Pick<JobRecord, 'jobId' | 'taskId' | 'attempt'>,
): Promise<{ attempt: number; name: string; location: { bucket: string; key: string }; size: number }[]> {
  const task = await deps.repos.tasks.get(job.taskId);
  return attemptLogsOf(
    job,
    await deps.repos.files.getMany(datasetUidFor(task.logDataset), attemptLogNames(job)),
  );
}

function attemptLogNames(job: Pick<JobRecord, 'jobId' | 'attempt'>): string[] {
  return Array.from({ length: job.attempt + 1 }, (_, attempt) => logFileName(job.jobId, attempt));
}

/** The logs among `files` of the job's attempts, first attempt first. */
export function attemptLogsOf(
  job: Pick<JobRecord, 'jobId' | 'attempt'>,
  files: readonly FileRecord[],
): { attempt: number; name: string; location: { bucket: string; key: string }; size: number }[] {
  const names = attemptLogNames(job);
  return files
    .map((file) => ({
      attempt: names.indexOf(file.name),
      name: file.name,
      location: file.location,
      size: file.size,
    }))
    .filter((log) => log.attempt >= 0)
    .sort((a, b) => a.attempt - b.attempt);
}
