import type { Logger } from '@aws-lambda-powertools/logger';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { TaskRecord } from '../../shared/model/index.js';
import {
  type CompletionDeps,
  handleTaskChange,
  type TaskChangeOutcome,
} from '../../shared/services/index.js';
import { type ChangeRecord, createStreamRecordConsumer, publishEvents } from '../common/index.js';

export interface TaskLifecycleDeps {
  completion: CompletionDeps;
  eventBridge: EventBridgeClient;
  logger: Logger;
}

/**
 * Applies one task stream record and publishes its events. A failure (including a publish
 * failure) fails the record, which the stream retries: its writes are conditional, so the
 * retry only sends the events again.
 */
export async function applyTaskChange(
  deps: TaskLifecycleDeps,
  change: ChangeRecord<TaskRecord>,
): Promise<TaskChangeOutcome> {
  const outcome = await handleTaskChange(deps.completion, change);
  await publishEvents(deps.eventBridge, outcome.events);
  const task = change.newImage;
  if (task && (outcome.finished || outcome.closedDatasets.length > 0)) {
    deps.logger.info('task progressed', {
      taskId: task.taskId,
      state: task.state,
      finished: outcome.finished,
      closedDatasets: outcome.closedDatasets,
    });
  }
  return outcome;
}

/** The handler of the Tasks stream. */
export function createTaskLifecycleHandler(deps: TaskLifecycleDeps) {
  const consume = createStreamRecordConsumer(TaskRecord, async (change) => {
    await applyTaskChange(deps, change);
  });
  return (event: DynamoDBStreamEvent, context: Context): Promise<DynamoDBBatchResponse> =>
    consume(event, context);
}
