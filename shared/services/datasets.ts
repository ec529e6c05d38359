/**
 * Dataset use cases: input files arriving, datasets closing against their checklist, datasets
 * marked for upload or deletion, and the tasks that read a dataset.
 */
import { type ChecklistComparison, type ChecklistObjectRef, compareSortedNames } from '../checklist/index.js';
import { NotFoundError, StateConflictError } from '../errors/index.js';
import { compareCodePoints, datasetUidFor } from '../ids/index.js';
import {
  type DatasetKind,
  type DatasetRecord,
  type FileRecord,
  type FileRef,
  printableName,
  type TaskRecord,
  type TaskState,
} from '../model/index.js';
import {
  type DatasetsRepo,
  type FilesRepo,
  listAllPages,
  type Repositories,
  type TasksRepo,
} from '../repositories/index.js';
import type { OpenChecklistObject } from './checklist-objects.js';

/** Largest page the repositories serve: listing a dataset or the tasks in a state takes few calls. */
export const LIST_PAGE_SIZE = 1_000;

/** A file the DSM announced for an input dataset. */
export interface InputFileAnnouncement {
  datasetUid: string;
  datasetName: string;
  file: FileRef;
}

export type InputFileOutcome =
  | { status: 'registered'; file: FileRecord; datasetCreated: boolean }
  /** The same file again (same size and checksum): nothing to do. */
  | { status: 'duplicate'; file: FileRecord }
  /** The name is registered with another size or checksum. */
  | { status: 'conflict'; registered: FileRecord }
  /** The dataset no longer takes files. */
  | { status: 'dataset-not-open'; dataset: DatasetRecord };

/**
 * Registers an announced input file in its dataset, creating the dataset OPEN (kind input)
 * on its first file. Every outcome that is not a registration is reported, not thrown, so the
 * caller decides what a repeat or a conflict means for its message. The dataset's kind is not
 * checked: that would cost a read per file, where the registration transaction could guard it.
 */
export async function registerInputFile(
  repos: Pick<Repositories, 'files' | 'datasets'>,
  announcement: InputFileAnnouncement,
): Promise<InputFileOutcome> {
  const { datasetUid, datasetName, file } = announcement;
  const newFile = { datasetUid, kind: 'input' as const, ...file };
  let datasetCreated = false;
  let result = await repos.files.registerMany([newFile]);
  if (result.refused[0]?.error instanceof NotFoundError) {
    datasetCreated = (await repos.datasets.create({ uid: datasetUid, name: datasetName, kind: 'input' }))
      .created;
    result = await repos.files.registerMany([newFile]);
  }
  const [created] = result.created;
  if (created) return { status: 'registered', file: created, datasetCreated };
  const [existing] = result.existing;
  if (existing) return { status: 'duplicate', file: existing };
  const refusal = result.refused[0];
  if (refusal?.current) return { status: 'conflict', registered: refusal.current };
  if (refusal?.error instanceof StateConflictError) {
    return { status: 'dataset-not-open', dataset: await repos.datasets.get(datasetUid) };
  }
  throw refusal?.error ?? new Error(`registration of ${datasetUid}/${file.name} gave no outcome`);
}

/** Why a registered file and an announcement of the same name differ, for a dead-letter reason. */
export function describeFileConflict(registered: FileRecord, announced: FileRef): string {
  const differences = [
    ...(registered.size === announced.size
      ? []
      : [`size ${registered.size} registered, ${announced.size} announced`]),
    ...(registered.checksum === announced.checksum
      ? []
      : [`checksum ${registered.checksum} registered, ${announced.checksum} announced`]),
  ];
  return `file ${registered.datasetUid}/${printableName(registered.name)} is registered with different content: ${differences.join('; ')}`;
}

/** Every file name of a dataset, reading pages of LIST_PAGE_SIZE. */
export async function listFileNames(files: FilesRepo, datasetUid: string): Promise<string[]> {
  return listAllPages((cursor) => files.listNames(datasetUid, { limit: LIST_PAGE_SIZE, cursor }));
}

/**
 * Every file name of a dataset in the order the Files table keeps them (code-point order),
 * read a page of LIST_PAGE_SIZE at a time: at most two pages are held (the one being read
 * and the next, already asked for), whatever the dataset's size.
 */
export async function* registeredNames(files: FilesRepo, datasetUid: string): AsyncGenerator<string> {
  const read = (cursor: string | undefined) => {
    const page = files.listNames(datasetUid, { limit: LIST_PAGE_SIZE, cursor });
    // Awaited below unless the walk stops first; then its failure concerns no one.
    page.catch(() => undefined);
    return page;
  };
  let next = read(undefined);
  for (;;) {
    const page = await next;
    // The next page is read while this one is compared: two pages at most, less waiting.
    if (page.cursor !== undefined) next = read(page.cursor);
    yield* page.items;
    if (page.cursor === undefined) return;
  }
}

/**
 * The tasks in `states` whose input is `datasetUid`, oldest first: one query of the Tasks
 * `byInputDataset` index per LIST_PAGE_SIZE tasks reading the dataset, whatever the other tasks.
 */
export async function tasksReadingDataset(
  tasks: TasksRepo,
  datasetUid: string,
  states: readonly TaskState[],
): Promise<TaskRecord[]> {
  const reading = await listAllPages((cursor) =>
    tasks.listByInputDataset(datasetUid, { limit: LIST_PAGE_SIZE, cursor }),
  );
  return reading.filter((task) => states.includes(task.state));
}

/**
 * A `dataset.close` as it arrives: the dataset and its checklist, inline (`files`) or as an
 * object in the store (`checklistObject`).
 */
export type DatasetCloseRequest = { datasetUid: string; datasetName?: string } & (
  | { files: readonly string[] }
  | { checklistObject: ChecklistObjectRef }
);

export type ChecklistMismatch = Extract<ChecklistComparison, { status: 'mismatch' }>;

export type DatasetCloseOutcome =
  /** The dataset holds its checklist and is closed (`applied`: by this call). */
  | { status: 'closed'; dataset: DatasetRecord; applied: boolean; fileCount: number }
  /** Still OPEN and the files do not match yet: try again later. */
  | { status: 'mismatch'; mismatch: ChecklistMismatch }
  /** No longer OPEN and its files differ from the checklist: it can never match. */
  | { status: 'closed-mismatch'; dataset: DatasetRecord; mismatch: ChecklistMismatch }
  /** Unknown, with an empty checklist and no name to create it under. */
  | { status: 'unknown-dataset' };

async function* inOrder(names: readonly string[]): AsyncGenerator<string> {
  yield* [...names].sort(compareCodePoints);
}

/**
 * Closes a dataset if its registered files equal the checklist. Both are walked in code-point
 * order (compareSortedNames): the registered files a page at a time, a checklist object line by
 * line as `openChecklist` streams and verifies it, so memory does not grow with the dataset.
 * A checklist object that cannot be used throws its ChecklistObjectError. The close is
 * conditional on the file count, so a file registered between the walk and the close refuses
 * it (ConditionFailedError) instead of closing on a stale match. An unknown dataset has no
 * files; with an empty checklist it is created (kind input) and closed at once.
 */
export async function closeDataset(
  repos: Pick<Repositories, 'files' | 'datasets'>,
  request: DatasetCloseRequest,
  openChecklist?: OpenChecklistObject,
): Promise<DatasetCloseOutcome> {
  const checklist = await checklistOf(request, openChecklist);
  let dataset = await repos.datasets.find(request.datasetUid);
  const registered = dataset ? registeredNames(repos.files, request.datasetUid) : inOrder([]);
  const comparison = await compareSortedNames(registered, checklist);
  if (comparison.status === 'mismatch') {
    return dataset && dataset.state !== 'OPEN'
      ? { status: 'closed-mismatch', dataset, mismatch: comparison }
      : { status: 'mismatch', mismatch: comparison };
  }
  const fileCount = comparison.registered;
  if (!dataset) {
    if (request.datasetName === undefined) return { status: 'unknown-dataset' };
    dataset = (
      await repos.datasets.create({ uid: request.datasetUid, name: request.datasetName, kind: 'input' })
    ).dataset;
  }
  if (dataset.state !== 'OPEN') return { status: 'closed', dataset, applied: false, fileCount };
  const change = await repos.datasets.close(request.datasetUid, { expectedFileCount: fileCount });
  return { status: 'closed', dataset: change.dataset, applied: change.applied, fileCount };
}

async function checklistOf(
  request: DatasetCloseRequest,
  openChecklist: OpenChecklistObject | undefined,
): Promise<AsyncIterable<string>> {
  if ('files' in request) return inOrder(request.files);
  if (!openChecklist) throw new Error('a checklist object was given without a way to read it');
  return openChecklist(request.checklistObject);
}

/**
 * `3 registered, 4 listed; missing: a,b; extra: c; duplicated: d`, naming only the non-empty
 * kinds; a kind with more differences than are kept ends with how many there are in all. The
 * counts come first, so a reason cut short still has them. Names outside printable ASCII are
 * escaped (`caf\u00e9.raw`) so that look-alikes read differently.
 */
export function describeMismatch(mismatch: ChecklistMismatch): string {
  const kinds = [
    ['missing', mismatch.missing],
    ['extra', mismatch.extra],
    ['duplicated', mismatch.duplicated],
  ] as const;
  const listed = kinds
    .filter(([, found]) => found.count > 0)
    .map(([label, found]) => {
      const names = found.first.map(printableName).join(',');
      return found.count > found.first.length
        ? `${label}: ${names},… (${found.count} in all)`
        : `${label}: ${names}`;
    });
  return [`${mismatch.registered} registered, ${mismatch.listed} listed`, ...listed].join('; ');
}

export type DatasetMarkOutcome =
  | { status: 'marked'; dataset: DatasetRecord; applied: boolean }
  /** The dataset is in a state the mark can never leave from (e.g. upload after delete). */
  | { status: 'refused'; dataset: DatasetRecord };

/**
 * CLOSED → TO_UPLOAD. An OPEN dataset throws StateConflictError (the close may still be on
 * its way), a missing one NotFoundError; a dataset already TO_UPLOAD is returned unchanged.
 */
export async function markDatasetForUpload(
  datasets: DatasetsRepo,
  datasetUid: string,
): Promise<DatasetMarkOutcome> {
  const dataset = await datasets.get(datasetUid);
  if (dataset.state === 'TO_UPLOAD') return { status: 'marked', dataset, applied: false };
  if (dataset.state === 'TO_DELETE') return { status: 'refused', dataset };
  if (dataset.state === 'OPEN') throw new StateConflictError('dataset', datasetUid, ['CLOSED']);
  const change = await datasets.markToUpload(datasetUid);
  return { status: 'marked', dataset: change.dataset, applied: change.applied };
}

export interface DatasetDeletion {
  dataset: DatasetRecord;
  applied: boolean;
  /** REGISTERED tasks waiting on the dataset that were failed because of it. */
  failedTaskIds: string[];
}

/**
 * CLOSED|TO_UPLOAD → TO_DELETE, then every task still REGISTERED on the dataset → FAILED (its
 * input will never be there). Repeating it changes nothing; an OPEN dataset throws
 * StateConflictError, a missing one NotFoundError.
 */
export async function markDatasetForDeletion(
  repos: Pick<Repositories, 'datasets' | 'tasks'>,
  datasetUid: string,
): Promise<DatasetDeletion> {
  const current = await repos.datasets.get(datasetUid);
  let dataset = current;
  let applied = false;
  if (current.state === 'OPEN') throw new StateConflictError('dataset', datasetUid, ['CLOSED', 'TO_UPLOAD']);
  if (current.state !== 'TO_DELETE') {
    ({ dataset, applied } = await repos.datasets.markToDelete(datasetUid, current.state));
  }
  const failedTaskIds: string[] = [];
  for (const task of await tasksReadingDataset(repos.tasks, datasetUid, ['REGISTERED'])) {
    try {
      const change = await repos.tasks.transition({ taskId: task.taskId, from: 'REGISTERED', to: 'FAILED' });
      if (change.applied) failedTaskIds.push(task.taskId);
    } catch (error) {
      // Started or cancelled meanwhile: no longer waiting on the dataset.
      if (!(error instanceof StateConflictError)) throw error;
    }
  }
  return { dataset, applied, failedTaskIds };
}

/** The uid and kind of the output or log dataset a task writes. */
export function taskDatasetOf(
  task: Pick<TaskRecord, 'outputDataset' | 'logDataset'>,
  kind: 'output' | 'log',
) {
  const name = kind === 'output' ? task.outputDataset : task.logDataset;
  return { uid: datasetUidFor(name), name, kind: kind satisfies DatasetKind };
}

/**
 * Creates the output or log dataset of a task if it does not exist (OPEN, empty); returns it
 * as stored. The uid is `datasetUidFor(name)`, so every writer finds the same dataset.
 */
export async function ensureTaskDataset(
  datasets: DatasetsRepo,
  task: Pick<TaskRecord, 'taskId' | 'outputDataset' | 'logDataset'>,
  kind: 'output' | 'log',
): Promise<DatasetRecord> {
  const target = taskDatasetOf(task, kind);
  return (await datasets.create({ ...target, producerTaskId: task.taskId })).dataset;
}
