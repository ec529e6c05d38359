/**
 * What follows a change of a task item or of one of its counter shards: the task finishes when
 * its counters say so, every state change is announced, and a finished task's output and log
 * datasets are closed with a `dataset.close` that starts the next task of a workflow.
 */
import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  buildPutEventsEntry,
  DETAIL_TYPES,
  type DetailInputOf,
  EVENT_SOURCES,
  EventTooLargeError,
} from '../../events/index.js';
import { NotFoundError, StateConflictError } from '../errors/index.js';
import type {
  DatasetRecord,
  JobCounts,
  TaskCounterShard,
  TaskItem,
  TaskRecord,
  TaskState,
} from '../model/index.js';
import type { DatasetsRepo, Repositories } from '../repositories/index.js';
import { isTerminal, type TaskOutcome, taskOutcome, UNFINISHED_JOB_STATES } from '../states/index.js';
import { writeChecklistObject } from './checklist-objects.js';
import { checklistObjectKey } from './dataset-locations.js';
import { ensureTaskDataset, listFileNames, registeredNames, taskDatasetOf } from './datasets.js';

/** The images of one stream record of a task item. */
export interface TaskChange {
  oldImage?: TaskItem;
  newImage?: TaskItem;
}

/** The images of one stream record of a task's counter shard. */
export interface CounterShardChange {
  oldImage?: TaskCounterShard;
  newImage?: TaskCounterShard;
}

/** Where the WMS stores the checklists of its datasets too large to close inline. */
export interface ChecklistWriter {
  s3: S3Client;
  /** The data bucket: objects go to `checklists/<dataset>/<sha256>.txt`. */
  bucket: string;
  /** Most names a close carries inline; a larger dataset is closed by reference. */
  inlineMaxFiles: number;
}

export interface CompletionDeps {
  repos: Pick<Repositories, 'tasks' | 'files' | 'datasets'>;
  eventBusName: string;
  checklists: ChecklistWriter;
}

export interface TaskChangeOutcome {
  /** The final state this call moved a RUNNING task to. */
  finished?: TaskOutcome;
  /** Output/log datasets found complete and announced with a dataset.close (closed now or before). */
  closedDatasets: string[];
  /** Events to publish: the state change, and a dataset.close per closed dataset. */
  events: PutEventsRequestEntry[];
}

/** Jobs not yet final (UNFINISHED_JOB_STATES), by the task's counters. */
export function unfinishedJobs(counts: JobCounts): number {
  return UNFINISHED_JOB_STATES.reduce((sum, state) => sum + counts[state], 0);
}

/** Whether a task is final with no job left to finish: its outputs are complete. */
export function outputsComplete(task: Pick<TaskRecord, 'state' | 'counts'>): boolean {
  return isTerminal('task', task.state) && unfinishedJobs(task.counts) === 0;
}

/** The state change a stream record shows, if any (a new item is not a change). */
export function stateChangeOf(change: TaskChange): { from: TaskState; to: TaskState } | undefined {
  const { oldImage, newImage } = change;
  if (!oldImage || !newImage || oldImage.state === newImage.state) return undefined;
  return { from: oldImage.state, to: newImage.state };
}

/**
 * Whether a shard's change left it with no job in flight while it had some: the only kind of
 * counter change that can leave the whole task with none, since every shard has none then.
 */
export function shardDrained(change: CounterShardChange): boolean {
  const { oldImage, newImage } = change;
  if (!oldImage || !newImage) return false;
  return unfinishedJobs(oldImage.counts) > 0 && unfinishedJobs(newImage.counts) === 0;
}

/**
 * Handles one change of a task item: a state change is announced with the task's counters,
 * and one into a final state closes its datasets when no job is left in flight; a RUNNING task
 * whose generation is complete finishes when its counters say so. The counters are read (the
 * sum of the task's shards) only for those. A repeated record repeats only what cannot change
 * state twice: the transition and the closes are conditional, and their events are sent again.
 */
export async function handleTaskChange(deps: CompletionDeps, change: TaskChange): Promise<TaskChangeOutcome> {
  const outcome: TaskChangeOutcome = { closedDatasets: [], events: [] };
  const item = change.newImage;
  if (!item) return outcome;
  const stateChange = stateChangeOf(change);
  const mayFinish = item.state === 'RUNNING' && item.generationComplete;
  if (!stateChange && !mayFinish) return outcome;
  const task = await deps.repos.tasks.find(item.taskId);
  if (!task) return outcome;

  if (mayFinish) await finish(deps, task, outcome);
  if (stateChange) {
    outcome.events.push(
      buildPutEventsEntry({
        detailType: DETAIL_TYPES.taskStatusChanged,
        source: EVENT_SOURCES.wms,
        eventBusName: deps.eventBusName,
        detail: {
          taskId: item.taskId,
          name: item.name,
          ...stateChange,
          counts: task.counts,
          at: item.updatedAt,
        },
      }),
    );
    if (outputsComplete({ state: item.state, counts: task.counts })) await closeDatasets(deps, task, outcome);
  }
  return outcome;
}

/**
 * Handles one change of a task's counter shard. Only a shard left with no job in flight can
 * finish a task: then the task is read with all its counters and finished if it is RUNNING and
 * they say so. Its datasets are closed here only if the task was final already when the shard
 * drained (the shard's copy of the task's state says so) and no job is left in flight; a task
 * that becomes final later has them closed by the record of that change. Shards draining
 * together after a task was cancelled may each find its outputs complete and announce the
 * closed datasets again, as a repeated record does.
 */
export async function handleCounterShardChange(
  deps: CompletionDeps,
  change: CounterShardChange,
): Promise<TaskChangeOutcome> {
  const outcome: TaskChangeOutcome = { closedDatasets: [], events: [] };
  const shard = change.newImage;
  if (!shard || !shardDrained(change)) return outcome;
  const task = await deps.repos.tasks.find(shard.counterOf);
  if (!task) return outcome;
  await finish(deps, task, outcome);
  if (isTerminal('task', shard.taskState) && outputsComplete(task)) await closeDatasets(deps, task, outcome);
  return outcome;
}

/** Moves a RUNNING task whose counters show its outcome to it; the change of state does the rest. */
async function finish(deps: CompletionDeps, task: TaskRecord, outcome: TaskChangeOutcome): Promise<void> {
  const final = task.state === 'RUNNING' ? taskOutcome(task) : null;
  if (!final) return;
  try {
    const transition = await deps.repos.tasks.transition({ taskId: task.taskId, from: 'RUNNING', to: final });
    if (transition.applied) outcome.finished = final;
  } catch (error) {
    // Cancelled meanwhile: the cancel wins.
    if (!(error instanceof StateConflictError)) throw error;
  }
}

async function closeDatasets(
  deps: CompletionDeps,
  task: TaskRecord,
  outcome: TaskChangeOutcome,
): Promise<void> {
  // Side by side: each walks every name of its dataset (a task's output and its logs alike).
  const closes = await Promise.all(
    (['output', 'log'] as const).map((kind) => closeTaskDataset(deps, task, kind)),
  );
  for (const closed of closes) {
    if (!closed) continue;
    outcome.closedDatasets.push(closed.datasetUid);
    outcome.events.push(closed.event);
  }
}

/**
 * Closes a task's output or log dataset (creating it empty if the task produced nothing) and
 * builds its dataset.close. The checklist goes inline up to `inlineMaxFiles` names and while
 * it fits an EventBridge entry; a larger one is written as a checklist object first and the
 * close refers to it. Returns undefined for a dataset already past CLOSED (marked for upload
 * or deletion): it was announced when it closed.
 */
async function closeTaskDataset(
  deps: CompletionDeps,
  task: TaskRecord,
  kind: 'output' | 'log',
): Promise<{ datasetUid: string; event: PutEventsRequestEntry } | undefined> {
  const target = taskDatasetOf(task, kind);
  let dataset: DatasetRecord;
  try {
    dataset = await closeOrCreate(deps.repos.datasets, task, kind);
  } catch (error) {
    if (error instanceof StateConflictError) return undefined;
    throw error;
  }
  const close = (checklist: Pick<DetailInputOf<'dataset.close'>, 'files' | 'checklistObject'>) => ({
    datasetUid: target.uid,
    event: buildPutEventsEntry({
      detailType: DETAIL_TYPES.datasetClose,
      source: EVENT_SOURCES.wms,
      eventBusName: deps.eventBusName,
      detail: { datasetUid: target.uid, datasetName: target.name, ...checklist },
    }),
  });
  const { checklists } = deps;
  if (dataset.fileCount <= checklists.inlineMaxFiles) {
    try {
      return close({ files: await listFileNames(deps.repos.files, target.uid) });
    } catch (error) {
      // Long names: more than 256 KB below the name limit. The object carries it.
      if (!(error instanceof EventTooLargeError)) throw error;
    }
  }
  const reference = await writeChecklistObject(
    checklists.s3,
    checklists.bucket,
    (sha256) => checklistObjectKey(target.name, sha256),
    () => registeredNames(deps.repos.files, target.uid),
  );
  const { bucket, key } = reference.location;
  return close({
    checklistObject: { url: `s3://${bucket}/${key}`, count: reference.count, sha256: reference.sha256 },
  });
}

/** OPEN → CLOSED (or CLOSED already); a dataset never created (no file registered) is created first. */
async function closeOrCreate(
  datasets: DatasetsRepo,
  task: TaskRecord,
  kind: 'output' | 'log',
): Promise<DatasetRecord> {
  const { uid } = taskDatasetOf(task, kind);
  try {
    return (await datasets.close(uid)).dataset;
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
    await ensureTaskDataset(datasets, task, kind);
    return (await datasets.close(uid)).dataset;
  }
}
