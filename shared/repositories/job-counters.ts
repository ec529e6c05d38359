/**
 * The task counters that jobs move: the only writes of the jobs repository to the tasks table.
 * A task's counters are its counter shards (counter-shards.ts); every job change carries the
 * update of its job's shard in its transaction, so the sum of a task's shards (`counts`,
 * `jobsTotal`) always equals its jobs.
 */
import type { TransactWriteItem } from '@aws-sdk/lib-dynamodb';
import { type JobMove, shardDeltas, shardOf } from '../counters/index.js';
import type { TaskState } from '../model/index.js';
import { counterShardKey, counterShardUpdate, shardCountsOf } from './counter-shards.js';
import type { RepositoryDeps } from './types.js';

export type { JobMove } from '../counters/index.js';

/**
 * The shard on which a job of a task that does not exist is counted: a key no item has, so the
 * change is refused as one of a missing task, never counted on a shard of another layout.
 */
const NO_TASK_SHARD = -1;

/** The shard a job counts on; NO_TASK_SHARD when its task does not exist (`counterShards` undefined). */
function jobShard(counterShards: number | undefined, jobId: string): number {
  return counterShards === undefined ? NO_TASK_SHARD : shardOf(jobId, counterShards);
}

/** The key under which writeBatch groups the jobs counted on one shard of one task. */
export function shardCounterKey(taskId: string, counterShards: number | undefined, jobId: string): string {
  return counterShardKey(taskId, jobShard(counterShards, jobId)).taskId;
}

/** How many counter shards each of these tasks has; undefined for a task that does not exist. */
export async function counterShardsOf(
  deps: RepositoryDeps,
  taskIds: Iterable<string>,
): Promise<(taskId: string) => number | undefined> {
  const found = await shardCountsOf(deps, taskIds);
  return (taskId) => found.get(taskId);
}

/**
 * The updates of a task's counter shards moved by `moves` of its jobs (plus `extraSet` on each
 * shard touched), one per shard, each guarded by the shard existing (so by the task existing)
 * and, when given, by the task being in one of `taskStates`.
 */
export function countersUpdates(
  tasksTable: string,
  taskId: string,
  counterShards: number | undefined,
  moves: readonly JobMove[],
  extraSet: Record<string, unknown> | undefined,
  taskStates: readonly TaskState[] | undefined,
): TransactWriteItem[] {
  const byShard = new Map<number, JobMove[]>();
  for (const move of moves) {
    const shard = jobShard(counterShards, move.jobId);
    byShard.set(shard, [...(byShard.get(shard) ?? []), move]);
  }
  return [...byShard].flatMap(([shard, shardMoves]) => {
    const delta = shardDeltas(shardMoves, 1).get(0);
    return delta ? [counterShardUpdate(tasksTable, taskId, shard, delta, extraSet, taskStates)] : [];
  });
}

/** The one shard update of moves that all count on one shard (as writeBatch groups them). */
export function shardCountersUpdate(
  tasksTable: string,
  taskId: string,
  counterShards: number | undefined,
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
