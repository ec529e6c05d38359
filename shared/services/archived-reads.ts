/**
 * The readers of an archived task's jobs and files, answering from its export as the live
 * tables answered before: the same records, in the same order (jobs by state then id, files by
 * name), in pages with an opaque cursor. Each read streams the whole object and checks it
 * against the task's recorded count and sha256 before answering, holding only the page asked.
 */
import { ValidationError } from '../errors/index.js';
import type { FileRecord, JobRecord, JobState, TaskRecord } from '../model/index.js';
import type { Page, PageRequest } from '../repositories/index.js';
import { type ArchiveStore, scanTaskArchive } from './archive-store.js';

const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;

type ArchivedTask = Pick<TaskRecord, 'taskId' | 'archive'>;

function pageBounds(page: PageRequest): { offset: number; limit: number } {
  const limit = page.limit ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new ValidationError('invalid page request', [
      { path: 'limit', message: `must be an integer from 1 to ${MAX_PAGE_SIZE}` },
    ]);
  }
  if (page.cursor === undefined) return { offset: 0, limit };
  const offset = /^a[1-9]\d{0,8}$/.test(page.cursor) ? Number(page.cursor.slice(1)) : Number.NaN;
  if (!Number.isSafeInteger(offset)) {
    throw new ValidationError('invalid page request', [
      { path: 'cursor', message: 'is not a cursor this service issued' },
    ]);
  }
  return { offset, limit };
}

/** The matching entries from `offset` on, `limit` of them, and a cursor when more follow. */
async function pageOf<T>(
  store: ArchiveStore,
  task: ArchivedTask,
  page: PageRequest,
  pick: (entry: Parameters<Parameters<typeof scanTaskArchive>[2]>[0]) => T | undefined,
): Promise<Page<T>> {
  const { offset, limit } = pageBounds(page);
  const items: T[] = [];
  let matching = 0;
  await scanTaskArchive(store, task, (entry) => {
    const item = pick(entry);
    if (item === undefined) return;
    if (matching >= offset && items.length < limit) items.push(item);
    matching += 1;
  });
  const next = offset + items.length;
  return next < matching ? { items, cursor: `a${next}` } : { items };
}

/** A page of the archived task's jobs, all or in one state: `JobsRepo.listByTask` of the export. */
export function archivedJobsPage(
  store: ArchiveStore,
  task: ArchivedTask,
  options: PageRequest & { state?: JobState } = {},
): Promise<Page<JobRecord>> {
  return pageOf(store, task, options, (entry) =>
    entry.kind === 'job' && (options.state === undefined || entry.job.state === options.state)
      ? entry.job
      : undefined,
  );
}

/** A page of the files the export holds of one dataset, in name order: `FilesRepo.list` of the export. */
export function archivedFilesPage(
  store: ArchiveStore,
  task: ArchivedTask,
  datasetUid: string,
  page: PageRequest = {},
): Promise<Page<FileRecord>> {
  return pageOf(store, task, page, (entry) =>
    entry.kind === 'file' && entry.file.datasetUid === datasetUid ? entry.file : undefined,
  );
}

/** The archived task's jobs, the first `max` of them, and whether it has more. */
export async function archivedJobs(
  store: ArchiveStore,
  task: ArchivedTask,
  max = Number.POSITIVE_INFINITY,
): Promise<{ jobs: JobRecord[]; truncated: boolean }> {
  const jobs: JobRecord[] = [];
  let truncated = false;
  await scanTaskArchive(store, task, (entry) => {
    if (entry.kind !== 'job') return;
    if (jobs.length < max) jobs.push(entry.job);
    else truncated = true;
  });
  return { jobs, truncated };
}

/** The files the export holds of one dataset. */
export async function archivedFiles(
  store: ArchiveStore,
  task: ArchivedTask,
  datasetUid: string,
): Promise<FileRecord[]> {
  const files: FileRecord[] = [];
  await scanTaskArchive(store, task, (entry) => {
    if (entry.kind === 'file' && entry.file.datasetUid === datasetUid) files.push(entry.file);
  });
  return files;
}

/** One job of the archived task and the files it registered in one dataset (its logs), from one read. */
export async function archivedJob(
  store: ArchiveStore,
  task: ArchivedTask,
  jobId: string,
  datasetUid: string,
): Promise<{ job: JobRecord | undefined; files: FileRecord[] }> {
  const found: { job: JobRecord | undefined; files: FileRecord[] } = { job: undefined, files: [] };
  await scanTaskArchive(store, task, (entry) => {
    if (entry.kind === 'job' && entry.job.jobId === jobId) found.job = entry.job;
    if (entry.kind === 'file' && entry.file.datasetUid === datasetUid && entry.file.jobId === jobId)
      found.files.push(entry.file);
  });
  return found;
}
