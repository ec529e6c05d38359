import type { Logger } from '@aws-lambda-powertools/logger';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { z } from 'zod';
import { TaskCounterShard, TaskItem } from '../../shared/model/index.js';
import {
  type CompletionDeps,
  handleCounterShardChange,
  handleTaskChange,
  type TaskChangeOutcome,
} from '../../shared/services/index.js';
import { type ChangeRecord, createStreamRecordConsumer, publishEvents } from '../common/index.js';

export interface TaskLifecycleDeps {
  completion: CompletionDeps;
  eventBridge: EventBridgeClient;
  logger: Logger;
}

/** An item of the Tasks table: a task's counter shard or the task itself. */
const TasksTableItem = z.union([TaskCounterShard, TaskItem]);
type TasksTableItem = z.output<typeof TasksTableItem>;

function isCounterShard(item: TasksTableItem | undefined): item is TaskCounterShard {
  return item !== undefined && 'counterOf' in item;
}

/**
 * Applies one Tasks stream record (a task item's or a counter shard's) and publishes its
 * events. A failure (including a publish failure) fails the record, which the stream retries:
 * its writes are conditional, so the retry only sends the events again.
 */
export async function applyTaskChange(
  deps: TaskLifecycleDeps,
  change: ChangeRecord<TasksTableItem>,
): Promise<TaskChangeOutcome> {
  const { oldImage, newImage } = change;
  const image = newImage ?? oldImage;
  const outcome = isCounterShard(image)
    ? await handleCounterShardChange(deps.completion, {
        ...(isCounterShard(oldImage) && { oldImage }),
        ...(isCounterShard(newImage) && { newImage }),
      })
    : await handleTaskChange(deps.completion, {
        ...(oldImage && !isCounterShard(oldImage) && { oldImage }),
        ...(newImage && !isCounterShard(newImage) && { newImage }),
      });
  await publishEvents(deps.eventBridge, outcome.events);
  const taskId = isCounterShard(image) ? image.counterOf : image?.taskId;
  if (taskId !== undefined && (outcome.finished || outcome.closedDatasets.length > 0)) {
    deps.logger.info('task progressed', {
      taskId,
      finished: outcome.finished,
      closedDatasets: outcome.closedDatasets,
    });
  }
  return outcome;
}

/** The handler of the Tasks stream: task items and their counter shards. */
export function createTaskLifecycleHandler(deps: TaskLifecycleDeps) {
  const consume = createStreamRecordConsumer(TasksTableItem, async (change) => {
    await applyTaskChange(deps, change);
  });
  return (event: DynamoDBStreamEvent, context: Context): Promise<DynamoDBBatchResponse> =>
    consume(event, context);
}
