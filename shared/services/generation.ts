/**
 * Job generation: the jobs of a task from its input dataset, page by page with continuation
 * messages once the dataset is closed, one job per file as files arrive for streaming tasks,
 * and the start of the tasks that wait on a dataset that has just closed.
 */
import { StateConflictError } from '../errors/index.js';
import { type PlannedJob, planJobs } from '../jobgen/index.js';
import type { FileRecord, FileRef, TaskRecord, TaskState } from '../model/index.js';
import type { JobsRepo, Repositories } from '../repositories/index.js';
import { GENERATING_TASK_STATES, isOneOf } from '../states/index.js';
import { LIST_PAGE_SIZE, tasksReadingDataset } from './datasets.js';
import type { JobGenerationMessage } from './job-generation-message.js';

/** Sends job-generation messages (the queue adapter, injected). */
export type EnqueueJobGeneration = (message: JobGenerationMessage) => Promise<void>;

/**
 * Files per page of a generation pass: the largest multiple of the task's chunk size that fits
 * a page, so merge chunks never straddle two pages of a full read (a chunk larger than the
 * page is read as one page of the chunk's size).
 */
export function generationPageSize(
  task: Pick<TaskRecord, 'mode' | 'filesPerJob'>,
  maxPageSize: number = LIST_PAGE_SIZE,
): number {
  if (task.mode === 'map') return maxPageSize;
  return Math.max(task.filesPerJob, Math.floor(maxPageSize / task.filesPerJob) * task.filesPerJob);
}

/**
 * Whether a task gets a job for each file of `datasetUid` as soon as it is registered.
 * Streaming applies to map mode only: a merge chunk is a run of files in name order, which is
 * known only once the dataset is closed, so a streaming merge task is generated at close.
 */
export function isStreamingMapTask(
  task: Pick<TaskRecord, 'streaming' | 'mode' | 'inputDatasetUid' | 'state'>,
  datasetUid: string,
): boolean {
  return (
    task.streaming && task.mode === 'map' && task.inputDatasetUid === datasetUid && task.state === 'RUNNING'
  );
}

/** The RUNNING streaming map tasks whose input is `datasetUid`. */
export async function streamingTasksReading(
  tasks: Repositories['tasks'],
  datasetUid: string,
): Promise<TaskRecord[]> {
  return (await tasksReadingDataset(tasks, datasetUid, ['RUNNING'])).filter((task) =>
    isStreamingMapTask(task, datasetUid),
  );
}

export interface StreamingJob {
  taskId: string;
  jobId: string;
  /** False when the job existed already (a repeated file.input). */
  created: boolean;
}

/**
 * Creates, for each streaming map task given, the job of one newly registered input file.
 * Job ids are deterministic, so a repeat creates nothing; a task that stopped taking jobs
 * meanwhile (cancelled) is skipped.
 */
export async function createStreamingJobs(
  jobs: JobsRepo,
  tasks: readonly TaskRecord[],
  datasetUid: string,
  file: FileRef,
): Promise<StreamingJob[]> {
  const made: StreamingJob[] = [];
  for (const task of tasks.filter((candidate) => isStreamingMapTask(candidate, datasetUid))) {
    const [job] = planJobs(task, [file], { final: true }).jobs;
    if (!job) continue;
    try {
      const result = await jobs.createJobs({ taskId: task.taskId, device: task.device, rank: task.rank }, [
        job,
      ]);
      made.push({ taskId: task.taskId, jobId: job.jobId, created: result.created.length === 1 });
    } catch (error) {
      if (!(error instanceof StateConflictError)) throw error;
    }
  }
  return made;
}

/** What a job carries of a registered file. */
export function fileRefOf(file: FileRecord): FileRef {
  return { name: file.name, location: file.location, size: file.size, checksum: file.checksum };
}

/**
 * Plans the jobs of one page of input files (in name order), given the files carried from the
 * previous page. Full chunks become jobs; an unfinished merge chunk is carried on, unless this
 * is the last page of a closed dataset (`final`), where it becomes the last job.
 */
export function planPage(
  task: Pick<TaskRecord, 'taskId' | 'mode' | 'filesPerJob'>,
  carried: readonly FileRef[],
  page: readonly FileRef[],
  final: boolean,
): { jobs: PlannedJob[]; carried: FileRef[] } {
  const plan = planJobs(task, [...carried, ...page], { final });
  return { jobs: plan.jobs, carried: plan.unplanned };
}

export interface GenerationLimits {
  /** Input files one invocation reads before handing the rest to a continuation message. */
  filesPerInvocation: number;
  /** Largest page of input files read at once (at most LIST_PAGE_SIZE). */
  maxPageSize: number;
  /** Time left in the invocation. */
  remainingMs: () => number;
  /** Stop reading pages when less than this is left. */
  reserveMs: number;
}

export interface GenerationCounts {
  created: number;
  existing: number;
}

export type GenerationOutcome =
  /** Every job exists and the task is marked generationComplete. */
  | ({ status: 'complete' } & GenerationCounts)
  /** A continuation message carries on from `cursor`. */
  | ({ status: 'continued'; cursor: string } & GenerationCounts)
  /** Streaming task, dataset still open: jobs exist for the files so far; the close finishes it. */
  | ({ status: 'caught-up' } & GenerationCounts)
  /** Nothing to generate before the input dataset closes. */
  | { status: 'waiting'; reason: string }
  /** The task takes no more jobs (finished, failed or cancelled). */
  | { status: 'not-generating'; state: TaskState };

/**
 * One pass of job generation for a task. Reads the input dataset's files in name order from
 * `message.cursor`, plans jobs with planJobs (the last partial merge chunk only on the last
 * page of a closed dataset) and creates them; JobsRepo.createJobs skips jobs that exist, so a
 * repeated pass creates nothing twice and keeps the counters exact. When the invocation's
 * file budget or time runs low it enqueues a continuation, always from a page boundary where
 * every file read so far is in a planned job. After the last page of a closed dataset the task
 * is marked generationComplete.
 */
export async function generateJobs(
  repos: Pick<Repositories, 'tasks' | 'jobs' | 'files' | 'datasets'>,
  enqueue: EnqueueJobGeneration,
  message: JobGenerationMessage,
  limits: GenerationLimits,
): Promise<GenerationOutcome> {
  const task = await repos.tasks.get(message.taskId);
  if (!isOneOf(GENERATING_TASK_STATES, task.state)) return { status: 'not-generating', state: task.state };
  const dataset = await repos.datasets.find(task.inputDatasetUid);
  const closed = dataset !== undefined && dataset.state !== 'OPEN';
  if (!closed && !task.streaming)
    return { status: 'waiting', reason: `input dataset ${task.inputDatasetUid} is not closed` };
  if (!closed && task.mode === 'merge') {
    return { status: 'waiting', reason: 'a streaming merge task is generated when its input dataset closes' };
  }
  if (dataset === undefined)
    return { status: 'waiting', reason: `input dataset ${task.inputDatasetUid} has no files yet` };

  const counts: GenerationCounts = { created: 0, existing: 0 };
  const context = { taskId: task.taskId, device: task.device, rank: task.rank };
  const limit = generationPageSize(task, limits.maxPageSize);
  let cursor = message.cursor;
  // Files of an unfinished merge chunk, carried to the next page when a page ends mid-chunk.
  let carried: FileRef[] = [];
  let filesRead = 0;
  try {
    for (;;) {
      const page = await repos.files.list(dataset.uid, { limit, cursor });
      filesRead += page.items.length;
      const plan = planPage(task, carried, page.items.map(fileRefOf), closed && page.cursor === undefined);
      if (plan.jobs.length > 0) {
        const result = await repos.jobs.createJobs(context, plan.jobs);
        counts.created += result.created.length;
        counts.existing += result.existing.length;
      }
      carried = plan.carried;
      cursor = page.cursor;
      if (cursor === undefined) break;
      const outOfBudget = filesRead >= limits.filesPerInvocation || limits.remainingMs() < limits.reserveMs;
      if (outOfBudget && carried.length === 0) {
        await enqueue({ taskId: task.taskId, cursor });
        return { status: 'continued', cursor, ...counts };
      }
    }
  } catch (error) {
    if (error instanceof StateConflictError)
      return { status: 'not-generating', state: (await repos.tasks.get(task.taskId)).state };
    throw error;
  }
  if (!closed) return { status: 'caught-up', ...counts };
  await repos.tasks.markGenerationComplete(task.taskId);
  return { status: 'complete', ...counts };
}

export interface StartedTasks {
  /** REGISTERED tasks moved to RUNNING by this call. */
  started: string[];
  /** Tasks a job-generation message was sent for. */
  generating: string[];
}

/**
 * Starts the tasks that read a dataset which has just closed: REGISTERED ones → RUNNING, and a
 * job-generation message for each of them and for every RUNNING one not yet fully generated
 * (streaming tasks, or a start interrupted before its message went out). Generation is
 * idempotent, so a repeat only costs a pass that creates nothing.
 */
export async function startTasksReading(
  tasks: Repositories['tasks'],
  enqueue: EnqueueJobGeneration,
  datasetUid: string,
): Promise<StartedTasks> {
  const outcome: StartedTasks = { started: [], generating: [] };
  for (const task of await tasksReadingDataset(tasks, datasetUid, GENERATING_TASK_STATES)) {
    if (task.state === 'RUNNING' && task.generationComplete) continue;
    if (task.state === 'REGISTERED') {
      try {
        const change = await tasks.transition({ taskId: task.taskId, from: 'REGISTERED', to: 'RUNNING' });
        if (change.applied) outcome.started.push(task.taskId);
      } catch (error) {
        // Cancelled or failed meanwhile: it will not run.
        if (error instanceof StateConflictError) continue;
        throw error;
      }
    }
    await enqueue({ taskId: task.taskId });
    outcome.generating.push(task.taskId);
  }
  return outcome;
}
