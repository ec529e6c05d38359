/**
 * What follows a change of a task item: the task finishes when its counters say so, every
 * state change is announced, and a finished task's output and log datasets are closed with a
 * `dataset.close` that starts the next task of a workflow.
 */
import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { buildPutEventsEntry, DETAIL_TYPES, EVENT_SOURCES, EventTooLargeError } from '../../events/index.js';
import { NotFoundError, StateConflictError, WmsError } from '../errors/index.js';
import type { JobCounts, TaskRecord, TaskState } from '../model/index.js';
import type { DatasetsRepo, Repositories } from '../repositories/index.js';
import { isTerminal, type TaskOutcome, taskOutcome, UNFINISHED_JOB_STATES } from '../states/index.js';
import { ensureTaskDataset, listFileNames, taskDatasetOf } from './datasets.js';

/** The images of one task stream record. */
export interface TaskChange {
  oldImage?: TaskRecord;
  newImage?: TaskRecord;
}

export interface CompletionDeps {
  repos: Pick<Repositories, 'tasks' | 'files' | 'datasets'>;
  eventBusName: string;
}

export interface TaskChangeOutcome {
  /** The final state this call moved a RUNNING task to. */
  finished?: TaskOutcome;
  /** Output/log datasets found complete and announced with a dataset.close (closed now or before). */
  closedDatasets: string[];
  /** Events to publish: the state change, and a dataset.close per closed dataset. */
  events: PutEventsRequestEntry[];
}

/** A dataset whose checklist does not fit an EventBridge event: downstream tasks cannot be told. */
export class ChecklistTooLargeError extends WmsError {
  override readonly name: string = 'ChecklistTooLargeError';
  constructor(
    readonly datasetUid: string,
    readonly fileCount: number,
    options?: ErrorOptions,
  ) {
    super(
      `dataset ${datasetUid} is closed with ${fileCount} files, but its dataset.close checklist exceeds the ` +
        '256 KB EventBridge entry limit (about 7,000 file names); the event is not sent and tasks reading the ' +
        'dataset will not start',
      options,
    );
  }
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

/** Whether this record is the one where the task's outputs became complete. */
export function outputsJustCompleted(change: TaskChange): boolean {
  if (!change.newImage || !outputsComplete(change.newImage)) return false;
  return !change.oldImage || !outputsComplete(change.oldImage);
}

/**
 * Handles one change of a task item. A repeated record repeats only what cannot change state
 * twice: the transition and the closes are conditional, and their events are sent again.
 */
export async function handleTaskChange(deps: CompletionDeps, change: TaskChange): Promise<TaskChangeOutcome> {
  const outcome: TaskChangeOutcome = { closedDatasets: [], events: [] };
  const task = change.newImage;
  if (!task) return outcome;

  const final = task.state === 'RUNNING' ? taskOutcome(task) : null;
  if (final) {
    try {
      const transition = await deps.repos.tasks.transition({
        taskId: task.taskId,
        from: 'RUNNING',
        to: final,
      });
      if (transition.applied) outcome.finished = final;
    } catch (error) {
      // Cancelled meanwhile: the cancel wins.
      if (!(error instanceof StateConflictError)) throw error;
    }
  }

  const stateChange = stateChangeOf(change);
  if (stateChange) {
    outcome.events.push(
      buildPutEventsEntry({
        detailType: DETAIL_TYPES.taskStatusChanged,
        source: EVENT_SOURCES.wms,
        eventBusName: deps.eventBusName,
        detail: {
          taskId: task.taskId,
          name: task.name,
          ...stateChange,
          counts: task.counts,
          at: task.updatedAt,
        },
      }),
    );
  }

  if (outputsJustCompleted(change)) {
    for (const kind of ['output', 'log'] as const) {
      const closed = await closeTaskDataset(deps, task, kind);
      if (!closed) continue;
      outcome.closedDatasets.push(closed.datasetUid);
      outcome.events.push(closed.event);
    }
  }
  return outcome;
}

/**
 * Closes a task's output or log dataset (creating it empty if the task produced nothing) and
 * builds its dataset.close with the checklist of its files. Returns undefined for a dataset
 * already past CLOSED (marked for upload or deletion): it was announced when it closed.
 */
async function closeTaskDataset(
  deps: CompletionDeps,
  task: TaskRecord,
  kind: 'output' | 'log',
): Promise<{ datasetUid: string; event: PutEventsRequestEntry } | undefined> {
  const target = taskDatasetOf(task, kind);
  try {
    await closeOrCreate(deps.repos.datasets, task, kind);
  } catch (error) {
    if (error instanceof StateConflictError) return undefined;
    throw error;
  }
  const names = await listFileNames(deps.repos.files, target.uid);
  try {
    const event = buildPutEventsEntry({
      detailType: DETAIL_TYPES.datasetClose,
      source: EVENT_SOURCES.wms,
      eventBusName: deps.eventBusName,
      detail: { datasetUid: target.uid, datasetName: target.name, files: names },
    });
    return { datasetUid: target.uid, event };
  } catch (error) {
    if (error instanceof EventTooLargeError)
      throw new ChecklistTooLargeError(target.uid, names.length, { cause: error });
    throw error;
  }
}

/** OPEN → CLOSED; a dataset that was never created (no file registered) is created first. */
async function closeOrCreate(
  datasets: DatasetsRepo,
  task: TaskRecord,
  kind: 'output' | 'log',
): Promise<void> {
  const { uid } = taskDatasetOf(task, kind);
  try {
    await datasets.close(uid);
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
    await ensureTaskDataset(datasets, task, kind);
    await datasets.close(uid);
  }
}
