/**
 * Archival of finished tasks, run by the watchdog. A task ended ARCHIVE_AFTER_SECONDS ago,
 * none of whose jobs can change by itself any more, is exported (its jobs, and the files of
 * its output and log datasets) to `archive/<taskId>.jsonl`; once the object is complete its
 * count and sha256 are recorded on the task (a conditional write: `archive`), and only then
 * its jobs and log files get their TTL, ARCHIVE_RETENTION_DAYS after the mark. From the mark
 * on, every reader of the task reads the export.
 *
 * What expires: the task's jobs and the files of its log dataset, which belong to the task
 * alone. The files of its output dataset are exported with it (the task's complete record)
 * but stay: the output dataset is the next stage's input and the DSM's record of what was
 * produced, and lives as long as the dataset. Input files are the DSM's dataset's, and are
 * neither exported nor expired.
 *
 * Every step is idempotent: an export cut short is redone from the start (same key, the
 * object replaced only when complete), a second mark is refused and the first one kept, and
 * the TTL pass resumes on the items that have none yet. The task leaves the `toArchive` index
 * only when every item has its TTL.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { ArchiveLine } from '../archive/index.js';
import {
  ArchiveDigest,
  archiveKey,
  encodeLine,
  expiresAtOf,
  fileLine,
  headerLine,
  isDueForArchive,
  jobLine,
} from '../archive/index.js';
import { datasetUidFor } from '../ids/index.js';
import {
  JOB_STATES,
  type JobState,
  type TaskArchive,
  type TaskItem,
  type TaskRecord,
} from '../model/index.js';
import type { Page, Repositories } from '../repositories/index.js';
import { type ArchiveStore, ArchiveWriter } from './archive-store.js';

/** Items read per query while exporting and setting TTLs. */
const ARCHIVE_PAGE_SIZE = 1000;
/** TTL writes in flight at once. */
const EXPIRE_CONCURRENCY = 8;

export interface ArchivalSettings {
  dataBucket: string;
  /** Time after its end before a task is exported. */
  afterSeconds: number;
  /** Time the exported items stay after the mark before DynamoDB may delete them. */
  retentionDays: number;
  /** Tasks one run works on at most. */
  tasksPerRun: number;
}

export interface ArchivalDeps {
  repos: Pick<Repositories, 'tasks' | 'jobs' | 'files' | 'datasets' | 'archive'>;
  store: ArchiveStore;
  settings: ArchivalSettings;
  logger: Logger;
  clock?: () => Date;
  /** The run stops between pages once it fires. */
  signal?: AbortSignal;
}

export interface ArchivalReport {
  /** Tasks exported and marked by this run. */
  exported: string[];
  /** Tasks whose archival this run ended: every exported item has its TTL. */
  finished: string[];
  jobsExpired: number;
  filesExpired: number;
  /** Tasks left for a later run, with why. */
  deferred: { taskId: string; reason: string }[];
}

/** The uids of the task's output and log datasets that it produced (and that exist). */
async function producedDatasets(
  deps: ArchivalDeps,
  task: Pick<TaskItem, 'taskId' | 'outputDataset' | 'logDataset'>,
): Promise<{ output: string | undefined; log: string | undefined }> {
  const produced = async (name: string) => {
    const dataset = await deps.repos.datasets.find(datasetUidFor(name));
    return dataset !== undefined && (dataset.producerTaskId ?? task.taskId) === task.taskId
      ? dataset.uid
      : undefined;
  };
  const output = await produced(task.outputDataset);
  const log = task.logDataset === task.outputDataset ? undefined : await produced(task.logDataset);
  return { output, log };
}

async function* pages<T>(list: (cursor: string | undefined) => Promise<Page<T>>): AsyncIterable<T[]> {
  let cursor: string | undefined;
  do {
    const page = await list(cursor);
    yield page.items;
    cursor = page.cursor;
  } while (cursor !== undefined);
}

function countsDiffer(task: TaskRecord, counted: Record<JobState, number>, jobs: number): string | null {
  const differing = JOB_STATES.filter((state) => counted[state] !== task.counts[state]);
  if (differing.length === 0 && jobs === task.jobsTotal) return null;
  return `the task counts ${task.jobsTotal} jobs (${differing.map((state) => `${state} ${task.counts[state]}`).join(', ') || 'same states'}), the table holds ${jobs} (${differing.map((state) => `${state} ${counted[state]}`).join(', ') || 'same states'})`;
}

/**
 * Writes the task's export and returns its summary, or the reason it was not written: the
 * jobs found are not those the task counts (an index lagging, or counters the audit will
 * repair), so an export now would not be the task's whole record.
 */
export async function exportTask(
  deps: ArchivalDeps,
  task: TaskRecord,
  archivedAt: string,
): Promise<{ archive: TaskArchive } | { refused: string }> {
  const key = archiveKey(task.taskId);
  const writer = new ArchiveWriter(deps.store, key);
  const digest = new ArchiveDigest();
  const write = async (line: ArchiveLine) => {
    const bytes = Buffer.from(encodeLine(line), 'utf8');
    digest.add(line, bytes);
    await writer.write(bytes);
  };
  const counted = Object.fromEntries(JOB_STATES.map((state) => [state, 0])) as Record<JobState, number>;
  try {
    await write(headerLine(task.taskId));
    for await (const jobs of pages((cursor) =>
      deps.repos.jobs.listByTask(task.taskId, { limit: ARCHIVE_PAGE_SIZE, cursor }),
    )) {
      for (const job of jobs) {
        counted[job.state] += 1;
        await write(jobLine(job));
      }
    }
    const mismatch = countsDiffer(task, counted, digest.jobs);
    if (mismatch !== null) {
      await writer.abort();
      return { refused: mismatch };
    }
    const { output, log } = await producedDatasets(deps, task);
    for (const uid of [output, log]) {
      if (uid === undefined) continue;
      for await (const files of pages((cursor) =>
        deps.repos.files.list(uid, { limit: ARCHIVE_PAGE_SIZE, cursor }),
      )) {
        for (const file of files) await write(fileLine(file));
      }
    }
    await writer.complete();
  } catch (error) {
    await writer
      .abort()
      .catch((abortError: unknown) =>
        deps.logger.warn('multipart upload of an export not aborted', { key, error: String(abortError) }),
      );
    throw error;
  }
  return {
    archive: { key, jobs: digest.jobs, files: digest.files, sha256: digest.sha256(), archivedAt },
  };
}

/** Runs `work` on every item, EXPIRE_CONCURRENCY at a time; counts the true answers. */
async function eachLimited<T>(items: readonly T[], work: (item: T) => Promise<boolean>): Promise<number> {
  let done = 0;
  const pending = [...items];
  const worker = async () => {
    for (let item = pending.shift(); item !== undefined; item = pending.shift())
      if (await work(item)) done += 1;
  };
  await Promise.all(Array.from({ length: EXPIRE_CONCURRENCY }, worker));
  return done;
}

/**
 * Gives the archived task's jobs and log files their TTL, page by page, then ends its
 * archival. Returns false when the run's deadline came first: the next run resumes with the
 * items still without a TTL.
 */
async function expireArchived(
  deps: ArchivalDeps,
  task: TaskItem & { archive: TaskArchive },
  report: ArchivalReport,
): Promise<boolean> {
  const { archive } = deps.repos;
  const expiresAt = expiresAtOf(task.archive.archivedAt, deps.settings.retentionDays);
  for await (const jobIds of pages((cursor) =>
    archive.listJobsWithoutExpiry(task.taskId, { limit: ARCHIVE_PAGE_SIZE, cursor }),
  )) {
    report.jobsExpired += await eachLimited(jobIds, (jobId) =>
      archive.expireJob(task.taskId, jobId, expiresAt),
    );
    if (deps.signal?.aborted) return false;
  }
  const { log } = await producedDatasets(deps, task);
  if (log !== undefined) {
    for await (const names of pages((cursor) =>
      archive.listFilesWithoutExpiry(log, { limit: ARCHIVE_PAGE_SIZE, cursor }),
    )) {
      report.filesExpired += await eachLimited(names, (name) => archive.expireFile(log, name, expiresAt));
      if (deps.signal?.aborted) return false;
    }
  }
  return archive.finish(task.taskId, expiresAt);
}

/**
 * One archival pass: the finished tasks ended more than ARCHIVE_AFTER_SECONDS ago whose
 * archival is not over, oldest first, until ARCHIVE_TASKS_PER_RUN of them were worked on (a
 * task left for later does not count, so it cannot hold the others back); stops between pages
 * when the signal fires.
 */
export async function runArchival(deps: ArchivalDeps): Promise<ArchivalReport> {
  const report: ArchivalReport = {
    exported: [],
    finished: [],
    jobsExpired: 0,
    filesExpired: 0,
    deferred: [],
  };
  const limit = deps.settings.tasksPerRun;
  if (limit === 0) return report;
  const now = (deps.clock ?? (() => new Date()))();
  const endedBefore = new Date(now.getTime() - deps.settings.afterSeconds * 1000).toISOString();
  let worked = 0;
  let cursor: string | undefined;
  do {
    const due = await deps.repos.archive.listDue(endedBefore, { limit, cursor });
    for (const listed of due.items) {
      if (deps.signal?.aborted || worked >= limit) break;
      if (await archiveOne(deps, listed, now, report)) worked += 1;
    }
    cursor = due.cursor;
  } while (cursor !== undefined && worked < limit && !deps.signal?.aborted);
  return report;
}

/** Archives one listed task as far as it can; false when it is left for a later run. */
async function archiveOne(
  deps: ArchivalDeps,
  listed: TaskItem,
  now: Date,
  report: ArchivalReport,
): Promise<boolean> {
  let task: TaskItem = listed;
  if (task.archive === undefined) {
    const counted = await deps.repos.tasks.get(task.taskId);
    if (!isDueForArchive(counted, now, deps.settings.afterSeconds)) {
      report.deferred.push({ taskId: task.taskId, reason: 'jobs of the task can still change' });
      return false;
    }
    const exported = await exportTask(deps, counted, now.toISOString());
    if ('refused' in exported) {
      report.deferred.push({ taskId: task.taskId, reason: exported.refused });
      deps.logger.warn('task not archived: its jobs are not what it counts', {
        taskId: task.taskId,
        reason: exported.refused,
      });
      return false;
    }
    const marked = await deps.repos.archive.markArchived(task.taskId, exported.archive);
    task = marked.task;
    if (marked.applied) {
      report.exported.push(task.taskId);
      deps.logger.info('task exported', { taskId: task.taskId, ...exported.archive });
    }
  }
  if (task.archive === undefined) return false;
  if (await expireArchived(deps, { ...task, archive: task.archive }, report)) {
    report.finished.push(task.taskId);
    deps.logger.info('archived task items expire', { taskId: task.taskId, archive: task.archive.key });
  }
  return true;
}
