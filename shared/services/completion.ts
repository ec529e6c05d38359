/**
 * What follows a change of a task item or of one of its counter shards: the task finishes when
 * its counters say so, every state change is announced, and a finished task's output and log
 * datasets are closed with a `dataset.close` that starts the next task of a workflow.
 */
import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { buildPutEventsEntry, DETAIL_TYPES, EVENT_SOURCES, EventTooLargeError } from '../../events/index.js';
import { NotFoundError, StateConflictError, WmsError } from '../errors/index.js';
import type { JobCounts, TaskCounterShard, TaskItem, TaskRecord, TaskState } from '../model/index.js';
import type { DatasetsRepo, Repositories } from '../repositories/index.js';
import { isTerminal, type TaskOutcome, taskOutcome } from '../states/index.js';
import { ensureTaskDataset, listFileNames, taskDatasetOf } from './datasets.js';

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

/** Jobs not yet final: READY, QUEUED, RUNNING or LOST. */
export function jobsInFlight(counts: JobCounts): number {
  return counts.READY + counts.QUEUED + counts.RUNNING + counts.LOST;
}

/** Whether a task is final with no job left to finish: its outputs are complete. */
export function outputsComplete(task: Pick<TaskRecord, 'state' | 'counts'>): boolean {
  return isTerminal('task', task.state) && jobsInFlight(task.counts) === 0;
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
  return jobsInFlight(oldImage.counts) > 0 && jobsInFlight(newImage.counts) === 0;
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
  for (const kind of ['output', 'log'] as const) {
    const closed = await closeTaskDataset(deps, task, kind);
    if (!closed) continue;
    outcome.closedDatasets.push(closed.datasetUid);
    outcome.events.push(closed.event);
  }
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
