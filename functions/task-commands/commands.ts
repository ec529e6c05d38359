/**
 * Applies one task command from the bus: `task.submitted` registers the task, `task.cancel`
 * cancels it, `task.priority` sets its rank. Repeated and late commands change nothing twice;
 * a command for a task not registered yet is deferred (its submission may still be on its
 * way) and dead-lettered with that reason after the queue's last delivery.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SQSRecord } from 'aws-lambda';
import { DETAIL_TYPES, type SqsEventBridgeRecordOf, sqsEventBridgeRecordSchema } from '../../events/index.js';
import { NotFoundError, StateConflictError } from '../../shared/errors/index.js';
import {
  cancelContinuationEntry,
  cancelTask,
  DatasetInUseError,
  registerTask,
  setTaskRank,
  type TaskServiceDeps,
  TaskSpecConflictError,
} from '../../shared/services/index.js';
import { DeferMessageError, PoisonMessageError, publishEvents } from '../common/index.js';

export const TASK_COMMAND_TYPES = [
  DETAIL_TYPES.taskSubmitted,
  DETAIL_TYPES.taskCancel,
  DETAIL_TYPES.taskPriority,
] as const;
export type TaskCommandType = (typeof TASK_COMMAND_TYPES)[number];
export type TaskCommandRecord = SqsEventBridgeRecordOf<TaskCommandType>;

export const taskCommandRecordSchema = sqsEventBridgeRecordSchema(...TASK_COMMAND_TYPES);

export interface TaskCommandDeps extends Omit<TaskServiceDeps, 'logger'> {
  eventBridge: EventBridgeClient;
  eventBusName: string;
  logger: Logger;
}

/** Waiting for a task's submission: 10 s more on each delivery, at most 2 minutes. */
const NOT_REGISTERED_DELAY_STEP_SECONDS = 10;
const NOT_REGISTERED_DELAY_MAX_SECONDS = 120;

function deferUntilRegistered(taskId: string, record: SQSRecord): DeferMessageError {
  const receiveCount = Number(record.attributes.ApproximateReceiveCount ?? '1');
  const delay = Math.min(NOT_REGISTERED_DELAY_MAX_SECONDS, NOT_REGISTERED_DELAY_STEP_SECONDS * receiveCount);
  return new DeferMessageError(delay, `task ${taskId} is not registered`);
}

export async function applyTaskCommand(
  deps: TaskCommandDeps,
  message: TaskCommandRecord,
  record: SQSRecord,
  pastDeadline: () => boolean,
): Promise<void> {
  const event = message.body;
  const logger = deps.logger.createChild({
    persistentKeys: { taskId: event.detail.taskId, detailType: event['detail-type'], source: event.source },
  });
  const services: TaskServiceDeps = { ...deps, logger };
  try {
    switch (event['detail-type']) {
      case DETAIL_TYPES.taskSubmitted: {
        await registerTask(services, event.detail);
        return;
      }
      case DETAIL_TYPES.taskCancel: {
        const { taskId, reason } = event.detail;
        const result = await cancelTask(services, taskId, reason, { pastDeadline });
        if (!result.complete) {
          // A fresh message with the same command: the repeat resumes where this one stopped.
          const entry = cancelContinuationEntry(deps.eventBusName, taskId, reason, event.source);
          await publishEvents(deps.eventBridge, [entry]);
        }
        return;
      }
      case DETAIL_TYPES.taskPriority: {
        const { changed } = await setTaskRank(services, event.detail.taskId, event.detail.rank);
        if (!changed) logger.info('task rank unchanged: it was already set');
        return;
      }
    }
  } catch (error) {
    if (error instanceof NotFoundError && error.entity === 'task')
      throw deferUntilRegistered(event.detail.taskId, record);
    if (error instanceof TaskSpecConflictError || error instanceof DatasetInUseError) {
      throw new PoisonMessageError(error.name, error.message, { cause: error });
    }
    if (error instanceof StateConflictError && event['detail-type'] === DETAIL_TYPES.taskPriority) {
      logger.info('task rank not set: the task has ended');
      return;
    }
    throw error;
  }
}
