import type { Logger } from '@aws-lambda-powertools/logger';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DETAIL_TYPES, type EventBridgeEventOf, sqsEventBridgeRecordSchema } from '../../events/index.js';
import { NotFoundError, StateConflictError } from '../../shared/errors/index.js';
import type { Repositories } from '../../shared/repositories/index.js';
import { markDatasetForDeletion, markDatasetForUpload } from '../../shared/services/index.js';
import {
  type ConsumerQueueConfig,
  createSqsConsumer,
  deferral,
  PoisonMessageError,
} from '../common/index.js';

export interface DatasetAdminDeps {
  repos: Pick<Repositories, 'datasets' | 'tasks'>;
  logger: Logger;
}

export type DatasetAdminEvent = EventBridgeEventOf<
  typeof DETAIL_TYPES.datasetUpload | typeof DETAIL_TYPES.datasetDelete
>;

export interface DatasetAdminResult {
  /** Whether this message changed the dataset's state (false: a repeat). */
  applied: boolean;
  /** Tasks failed because their input dataset is being deleted. */
  failedTaskIds: string[];
}

/**
 * dataset.upload: CLOSED → TO_UPLOAD. dataset.delete: CLOSED|TO_UPLOAD → TO_DELETE, and the
 * tasks still REGISTERED on it FAILED. A repeat changes nothing. A dataset that is still OPEN
 * or unknown throws (its close may be on the way: the consumer defers it with a growing delay,
 * then dead-letters it with the reason);
 * an upload of a dataset marked for deletion never applies: a PoisonMessageError.
 */
export async function handleDatasetAdmin(
  deps: DatasetAdminDeps,
  event: DatasetAdminEvent,
): Promise<DatasetAdminResult> {
  const { datasetUid } = event.detail;
  if (event['detail-type'] === DETAIL_TYPES.datasetUpload) {
    const outcome = await markDatasetForUpload(deps.repos.datasets, datasetUid);
    if (outcome.status === 'refused') {
      throw new PoisonMessageError(
        'DATASET_STATE',
        `dataset ${datasetUid} is ${outcome.dataset.state}: it cannot be marked for upload`,
      );
    }
    deps.logger.info('dataset marked for upload', { datasetUid, applied: outcome.applied });
    return { applied: outcome.applied, failedTaskIds: [] };
  }
  const deletion = await markDatasetForDeletion(deps.repos, datasetUid);
  deps.logger.info('dataset marked for deletion', {
    datasetUid,
    applied: deletion.applied,
    failedTaskIds: deletion.failedTaskIds,
  });
  return { applied: deletion.applied, failedTaskIds: deletion.failedTaskIds };
}

const DatasetAdminRecord = sqsEventBridgeRecordSchema(DETAIL_TYPES.datasetUpload, DETAIL_TYPES.datasetDelete);

/** The SQS handler of the dataset-admin queue. */
export function createDatasetAdminHandler(
  deps: DatasetAdminDeps & { sqs: SQSClient; queue: ConsumerQueueConfig },
) {
  const consume = createSqsConsumer({
    recordSchema: DatasetAdminRecord,
    sqs: deps.sqs,
    logger: deps.logger,
    sourceQueueUrl: deps.queue.SOURCE_QUEUE_URL,
    deadLetterQueueUrl: deps.queue.DEAD_LETTER_QUEUE_URL,
    maxReceiveCount: deps.queue.SOURCE_MAX_RECEIVE_COUNT,
    handleRecord: async (record) => {
      const logger = deps.logger.createChild({
        persistentKeys: { messageId: record.messageId, datasetUid: record.body.detail.datasetUid },
      });
      try {
        await handleDatasetAdmin({ repos: deps.repos, logger }, record.body);
      } catch (error) {
        // The dataset's close (or its first file) may still be on its way: come back soon.
        if (error instanceof StateConflictError || error instanceof NotFoundError) {
          throw deferral(Number(record.attributes.ApproximateReceiveCount ?? '1'), error.message);
        }
        throw error;
      }
    },
  });
  return (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => consume(event, context);
}
