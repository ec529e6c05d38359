/**
 * The task counters that jobs move: the only writes of the jobs repository to the tasks table.
 * A task's counters are its counter shards (counterShards.ts); every job change carries the
 * update of its job's shard in its transaction, so the sum of a task's shards (`counts`,
 * `jobsTotal`) always equals its jobs.
 */
import type { TransactWriteItem } from '@aws-sdk/lib-dynamodb';
import { type JobMove, shardDeltas, shardOf } from '../counters/index.js';
import type { TaskState } from '../model/index.js';
import { counterShardKey, counterShardUpdate, shardCountsOf } from './counterShards.js';
import type { RepositoryDeps } from './types.js';

export type { JobMove } from '../counters/index.js';

/** The key under which writeBatch groups the jobs counted on one shard of one task. */
export function shardCounterKey(taskId: string, counterShards: number, jobId: string): string {
  return counterShardKey(taskId, shardOf(jobId, counterShards)).taskId;
}

/**
 * The shard counts of the tasks of these jobs. A task that does not exist counts as one shard:
 * its shard item does not exist either, so the counter update refuses the change as for a
 * missing task.
 */
export async function counterShardsOf(
  deps: RepositoryDeps,
  taskIds: Iterable<string>,
): Promise<(taskId: string) => number> {
  const found = await shardCountsOf(deps, taskIds);
  return (taskId) => found.get(taskId) ?? 1;
}

/**
 * The updates of a task's counter shards moved by `moves` of its jobs (plus `extraSet` on each
 * shard touched), one per shard, each guarded by the task existing and, when given, being in
 * one of `taskStates`.
 */
export function countersUpdates(
  tasksTable: string,
  taskId: string,
  counterShards: number,
  moves: readonly JobMove[],
  extraSet: Record<string, unknown> | undefined,
  taskStates: readonly TaskState[] | undefined,
): TransactWriteItem[] {
  return [...shardDeltas(moves, counterShards)].map(([shard, delta]) =>
    counterShardUpdate(tasksTable, taskId, shard, delta, extraSet, taskStates),
  );
}

/** The one shard update of moves that all count on one shard (as writeBatch groups them). */
export function shardCountersUpdate(
  tasksTable: string,
  taskId: string,
  counterShards: number,
  moves: readonly JobMove[],
  extraSet: Record<string, unknown> | undefined,
  taskStates: readonly TaskState[] | undefined,
): TransactWriteItem {
  const updates = countersUpdates(tasksTable, taskId, counterShards, moves, extraSet, taskStates);
  if (updates.length !== 1) {
    throw new Error(`moves of task ${taskId} make ${updates.length} shard updates, not one`);
  }
  return updates[0]!;
}
