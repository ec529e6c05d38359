/**
 * The fields of a task that never change after its registration, cached per warm container:
 * a stream of results of one task reads the task once. State changes are never taken from
 * here; the writes that depend on the task's state are conditioned on it.
 */
import type { TaskRecord, TaskSpec } from '../model/index.js';

/** What a task is asked to do: its spec without the rank, which changes. */
export type ImmutableTaskSpec = Omit<TaskSpec, 'rank'> & Pick<TaskRecord, 'taskId'>;

/** Tasks kept by default: far more than the tasks running at once, a few hundred KB at most. */
export const DEFAULT_TASK_SPEC_CAPACITY = 1_000;

function immutableSpecOf(task: TaskSpec & Pick<TaskRecord, 'taskId'>): ImmutableTaskSpec {
  return {
    taskId: task.taskId,
    name: task.name,
    workflowId: task.workflowId,
    executable: task.executable,
    args: task.args,
    device: task.device,
    mode: task.mode,
    filesPerJob: task.filesPerJob,
    maxRetries: task.maxRetries,
    inputDatasetUid: task.inputDatasetUid,
    outputDataset: task.outputDataset,
    logDataset: task.logDataset,
    streaming: task.streaming,
    failureTolerance: task.failureTolerance,
    wallTimeSeconds: task.wallTimeSeconds,
    coresPerJob: task.coresPerJob,
    ...(task.memoryBytes !== undefined && { memoryBytes: task.memoryBytes }),
  };
}

/**
 * A least-recently-used cache of immutable task specs. Concurrent lookups of one task share
 * one read; an unknown task or a failed read is not kept, so the next lookup reads again.
 */
export class TaskSpecCache {
  readonly #entries = new Map<string, Promise<ImmutableTaskSpec | undefined>>();
  readonly #capacity: number;

  constructor(capacity = DEFAULT_TASK_SPEC_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be an integer >= 1');
    this.#capacity = capacity;
  }

  /** Tasks held now. */
  get size(): number {
    return this.#entries.size;
  }

  /** The task's immutable spec; `load` reads the task when it is not held. */
  get(
    taskId: string,
    load: (taskId: string) => Promise<(TaskSpec & Pick<TaskRecord, 'taskId'>) | undefined>,
  ): Promise<ImmutableTaskSpec | undefined> {
    const held = this.#entries.get(taskId);
    if (held) {
      // Moved to the end: the most recently used is evicted last.
      this.#entries.delete(taskId);
      this.#entries.set(taskId, held);
      return held;
    }
    const loading = load(taskId).then((task) => (task ? immutableSpecOf(task) : undefined));
    this.#entries.set(taskId, loading);
    const forget = () => {
      if (this.#entries.get(taskId) === loading) this.#entries.delete(taskId);
    };
    loading.then((spec) => {
      if (!spec) forget();
    }, forget);
    if (this.#entries.size > this.#capacity) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    return loading;
  }
}
