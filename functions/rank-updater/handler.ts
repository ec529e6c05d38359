import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { type ChangeRecord, parseChangeRecord } from '../common/index.js';
import { boostRetriedTask, JobImage, type RankUpdateDeps, type RetriedJob, retryOf } from './rank-update.js';

/**
 * The handler of the Jobs stream (READY images at attempt > 0): retries are grouped by task,
 * so a batch raises each task's rank once for all its retried jobs. A record that does not
 * validate, and every record of a task whose update failed, is reported as a batch item
 * failure: the stream retries from the first of them, and retries already counted are not
 * counted again.
 */
export function createRankUpdaterHandler(deps: RankUpdateDeps) {
  return async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
    const failed = new Set<string>();
    const byTask = new Map<string, { retries: RetriedJob[]; records: string[] }>();
    for (const record of event.Records) {
      const sequence = record.dynamodb?.SequenceNumber ?? '';
      let change: ChangeRecord<JobImage>;
      try {
        change = parseChangeRecord(record, JobImage);
      } catch (error) {
        deps.logger.error('job stream record does not validate', { sequence, error: error as Error });
        failed.add(sequence);
        continue;
      }
      const retry = retryOf(change);
      if (!retry) continue;
      const group = byTask.get(retry.taskId) ?? { retries: [], records: [] };
      group.retries.push(retry);
      group.records.push(sequence);
      byTask.set(retry.taskId, group);
    }
    for (const [taskId, group] of byTask) {
      try {
        await boostRetriedTask(deps, taskId, group.retries);
      } catch (error) {
        deps.logger.error('rank update failed; its records will be retried', {
          taskId,
          error: error as Error,
        });
        for (const sequence of group.records) failed.add(sequence);
      }
    }
    return { batchItemFailures: [...failed].map((itemIdentifier) => ({ itemIdentifier })) };
  };
}
