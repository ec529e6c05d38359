/**
 * The items that hold a task's counters: one per shard, in the Tasks table beside the task
 * item. Job changes move them (shared/counters picks the shard from the job id); reads sum them.
 */
import { GetCommand, type TransactWriteItem } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { type CounterDelta, type Counters, zeroCounts } from '../counters/index.js';
import { CorruptItemError } from '../errors/index.js';
import { CounterShardCount, JOB_STATES, TaskCounterShard, type TaskState } from '../model/index.js';
import { batchGet, parseStored } from './dynamo.js';
import { Expression } from './expressions.js';
import type { RepositoryDeps } from './types.js';

/** The key of a task's counter shard; `#` never occurs in a task id, so it names no task. */
export function counterShardKey(taskId: string, shard: number): { taskId: string } {
  return { taskId: `${taskId}#counters#${shard}` };
}

/** Whether a Tasks table key names a counter shard rather than a task. */
export function isCounterShardKey(key: string): boolean {
  return key.includes('#counters#');
}

/** A new task's shard: zero counters and the task's first state. */
export function newCounterShard(taskId: string, shard: number, taskState: TaskState): TaskCounterShard {
  return {
    ...counterShardKey(taskId, shard),
    counterOf: taskId,
    shard,
    taskState,
    counts: zeroCounts(),
    jobsTotal: 0,
  };
}

/**
 * One shard's counters moved by `delta` (and `set`, e.g. lastServedAt), guarded by the shard
 * existing (it exists exactly while its task does) and, when given, by the task being in one
 * of `taskStates` (the shard's copy of the task's state).
 */
export function counterShardUpdate(
  tasksTable: string,
  taskId: string,
  shard: number,
  delta: CounterDelta,
  set: Record<string, unknown> | undefined,
  taskStates: readonly TaskState[] | undefined,
): TransactWriteItem {
  const add: Record<string, number> = {};
  for (const state of JOB_STATES) {
    const amount = delta.counts[state];
    if (amount !== undefined) add[`counts.${state}`] = amount;
  }
  if (delta.jobsTotal !== 0) add.jobsTotal = delta.jobsTotal;
  const expression = new Expression();
  return {
    Update: {
      TableName: tasksTable,
      Key: counterShardKey(taskId, shard),
      UpdateExpression: expression.update({ add, set }),
      ConditionExpression:
        taskStates === undefined
          ? `attribute_exists(${expression.name('taskId')})`
          : expression.oneOf('taskState', taskStates),
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      ...expression.attributes(),
    },
  };
}

/** Reads the shards of each task consistently (BatchGetItem, 100 keys a call), in shard order. */
export async function readCounterShards(
  deps: RepositoryDeps,
  tasks: readonly { taskId: string; counterShards: number }[],
): Promise<Map<string, TaskCounterShard[]>> {
  const keys = tasks.flatMap((task) =>
    Array.from({ length: task.counterShards }, (_, shard) => counterShardKey(task.taskId, shard)),
  );
  const items = await batchGet(deps.doc, deps.tables.tasks, keys);
  const byTask = new Map<string, TaskCounterShard[]>(tasks.map((task) => [task.taskId, []]));
  for (const item of items) {
    const shard = parseStored(TaskCounterShard, item, 'task counter shard');
    byTask.get(shard.counterOf)?.push(shard);
  }
  for (const task of tasks) {
    const shards = byTask.get(task.taskId) ?? [];
    if (shards.length !== task.counterShards) {
      throw new CorruptItemError('task counters', [
        {
          path: 'counterShards',
          message: `task ${task.taskId} has ${task.counterShards} counter shards, ${shards.length} found`,
        },
      ]);
    }
    shards.sort((a, b) => a.shard - b.shard);
  }
  return byTask;
}

/** The counters a shard holds. */
export function countersOf(shard: TaskCounterShard): Counters {
  return { counts: shard.counts, jobsTotal: shard.jobsTotal };
}

const TaskItemShardCount = z.object({ counterShards: CounterShardCount });

/** The cached shard counts, at most this many tasks (a container serves far fewer at once). */
const SHARD_COUNT_CACHE_LIMIT = 10_000;
const shardCounts = new Map<string, number>();

function cacheKey(tasksTable: string, taskId: string): string {
  return `${tasksTable}\u0000${taskId}`;
}

/** Remembers a task's shard count: fixed at its creation, so it can be kept as long as the process lives. */
export function rememberShardCount(tasksTable: string, taskId: string, counterShards: number): void {
  if (shardCounts.size >= SHARD_COUNT_CACHE_LIMIT) shardCounts.clear();
  shardCounts.set(cacheKey(tasksTable, taskId), counterShards);
}

/**
 * How many counter shards each task has, from what this process read before or else from the
 * task item (one GetItem of its `counterShards`). A task that does not exist is absent.
 */
export async function shardCountsOf(
  deps: RepositoryDeps,
  taskIds: Iterable<string>,
): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  for (const taskId of new Set(taskIds)) {
    const cached = shardCounts.get(cacheKey(deps.tables.tasks, taskId));
    if (cached !== undefined) {
      found.set(taskId, cached);
      continue;
    }
    const expression = new Expression();
    const response = await deps.doc.send(
      new GetCommand({
        TableName: deps.tables.tasks,
        Key: { taskId },
        ConsistentRead: true,
        ProjectionExpression: expression.name('counterShards'),
        ...expression.attributes(),
      }),
    );
    if (!response.Item) continue;
    const { counterShards } = parseStored(TaskItemShardCount, response.Item, 'task');
    rememberShardCount(deps.tables.tasks, taskId, counterShards);
    found.set(taskId, counterShards);
  }
  return found;
}
