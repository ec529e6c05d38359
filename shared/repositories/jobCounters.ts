/**
 * The task counters that jobs move: the only writes of the jobs repository to the tasks table.
 * Every job change carries one of these updates in its transaction, so a task's `counts` (and
 * `jobsTotal`) always equal its jobs.
 */
import type { TransactWriteItem } from '@aws-sdk/lib-dynamodb';
import type { JobState, TaskState } from '../model/index.js';
import { Expression } from './expressions.js';

/** One job's change of state, as its task's counters see it. */
export interface JobMove {
  from: JobState;
  to: JobState;
}

/**
 * The task's per-state counters moved by jobs changing state (plus `extraSet`), guarded by the
 * task existing and, when given, being in one of `taskStates`.
 */
export function countersUpdate(
  tasksTable: string,
  taskId: string,
  moves: readonly JobMove[],
  extraSet: Record<string, unknown> | undefined,
  taskStates: readonly TaskState[] | undefined,
): TransactWriteItem {
  const deltas: Record<string, number> = {};
  for (const { from, to } of moves) {
    deltas[`counts.${from}`] = (deltas[`counts.${from}`] ?? 0) - 1;
    deltas[`counts.${to}`] = (deltas[`counts.${to}`] ?? 0) + 1;
  }
  const expression = new Expression();
  return {
    Update: {
      TableName: tasksTable,
      Key: { taskId },
      UpdateExpression: expression.update({ add: deltas, set: extraSet }),
      ConditionExpression:
        taskStates === undefined
          ? `attribute_exists(${expression.name('taskId')})`
          : expression.oneOf('state', taskStates),
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      ...expression.attributes(),
    },
  };
}

/** `created` new READY jobs counted in `jobsTotal` and `counts.READY`, while the task is in `taskStates`. */
export function createdJobsUpdate(
  tasksTable: string,
  taskId: string,
  created: number,
  taskStates: readonly TaskState[],
): TransactWriteItem {
  const expression = new Expression();
  return {
    Update: {
      TableName: tasksTable,
      Key: { taskId },
      UpdateExpression: expression.update({ add: { jobsTotal: created, 'counts.READY': created } }),
      ConditionExpression: expression.oneOf('state', taskStates),
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      ...expression.attributes(),
    },
  };
}
