import type { Logger } from '@aws-lambda-powertools/logger';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { type DatasetCloseDetail, DETAIL_TYPES, sqsEventBridgeRecordSchema } from '../../events/index.js';
import {
  ChecklistObjectError,
  ChecklistObjectMissingError,
  type CloseDeferralPolicyInput,
} from '../../shared/checklist/index.js';
import type { Repositories } from '../../shared/repositories/index.js';
import {
  closeDataset,
  type DatasetCloseOutcome,
  describeMismatch,
  type EnqueueJobGeneration,
  type OpenChecklistObject,
  type StartedTasks,
  sendJobGenerationMessage,
  startTasksReading,
} from '../../shared/services/index.js';
import {
  type ConsumerQueueConfig,
  createSqsConsumer,
  deferral,
  PoisonMessageError,
} from '../common/index.js';

export interface DatasetCloseDeps {
  repos: Pick<Repositories, 'files' | 'datasets' | 'tasks'>;
  enqueue: EnqueueJobGeneration;
  /** Reads the checklist objects closes refer to (only from the places checklists are read from). */
  openChecklist: OpenChecklistObject;
  deferral: CloseDeferralPolicyInput;
  logger: Logger;
}

export interface DatasetCloseResult {
  /** Whether this message closed the dataset (false: it was closed already). */
  applied: boolean;
  tasks: StartedTasks;
}

/**
 * Applies one dataset.close (from the DSM, or from the WMS for a finished task's outputs).
 * Matching files: the dataset is closed and the tasks reading it start. Files still missing
 * or extra: a DeferMessageError with the mismatch, so the message returns with a growing
 * delay and is dead-lettered with the mismatch after the last try. A dataset already past
 * OPEN whose files differ can never match: a PoisonMessageError. A checklist object that does
 * not exist (yet) is deferred the same way; one that is elsewhere than checklists are read
 * from, differs from its count or sha256, or holds a bad line is a PoisonMessageError with
 * its code (CHECKLIST_LOCATION_REFUSED, CHECKLIST_OBJECT_MISMATCH, CHECKLIST_LINE_INVALID).
 */
export async function handleDatasetClose(
  deps: DatasetCloseDeps,
  detail: DatasetCloseDetail,
  receiveCount: number,
): Promise<DatasetCloseResult> {
  const { datasetUid } = detail;
  const outcome = await closeWithChecklist(deps, detail, receiveCount);
  switch (outcome.status) {
    case 'mismatch':
      throw deferral(
        receiveCount,
        `dataset ${datasetUid} does not match its checklist: ${describeMismatch(outcome.mismatch)}`,
        deps.deferral,
      );
    case 'unknown-dataset':
      throw deferral(
        receiveCount,
        `dataset ${datasetUid} is unknown and the close names no dataset`,
        deps.deferral,
      );
    case 'closed-mismatch':
      throw new PoisonMessageError(
        'DATASET_CLOSED_MISMATCH',
        `dataset ${datasetUid} is ${outcome.dataset.state} and its files differ from the checklist: ${describeMismatch(outcome.mismatch)}`,
      );
    case 'closed':
      break;
  }
  // A dataset marked for deletion feeds no new task.
  const tasks =
    outcome.dataset.state === 'TO_DELETE'
      ? { started: [], generating: [] }
      : await startTasksReading(deps.repos.tasks, deps.enqueue, datasetUid);
  deps.logger.info('dataset closed', {
    datasetUid,
    files: outcome.fileCount,
    checklist: 'files' in detail ? 'inline' : 'object',
    applied: outcome.applied,
    startedTasks: tasks.started,
    generatingTasks: tasks.generating,
  });
  return { applied: outcome.applied, tasks };
}

async function closeWithChecklist(
  deps: DatasetCloseDeps,
  detail: DatasetCloseDetail,
  receiveCount: number,
): Promise<DatasetCloseOutcome> {
  try {
    return await closeDataset(deps.repos, detail, deps.openChecklist);
  } catch (error) {
    if (error instanceof ChecklistObjectMissingError)
      throw deferral(receiveCount, `dataset ${detail.datasetUid}: ${error.message}`, deps.deferral);
    if (error instanceof ChecklistObjectError)
      throw new PoisonMessageError(error.code, `dataset ${detail.datasetUid}: ${error.message}`, {
        cause: error,
      });
    throw error;
  }
}

const DatasetCloseRecord = sqsEventBridgeRecordSchema(DETAIL_TYPES.datasetClose);

export interface DatasetCloseQueueDeps {
  sqs: SQSClient;
  queue: ConsumerQueueConfig;
  jobGenerationQueueUrl: string;
}

/** The SQS handler of the dataset-close queue. */
export function createDatasetCloseHandler(deps: Omit<DatasetCloseDeps, 'enqueue'> & DatasetCloseQueueDeps) {
  const enqueue: EnqueueJobGeneration = (message) =>
    sendJobGenerationMessage(deps.sqs, deps.jobGenerationQueueUrl, message);
  const consume = createSqsConsumer({
    recordSchema: DatasetCloseRecord,
    sqs: deps.sqs,
    logger: deps.logger,
    sourceQueueUrl: deps.queue.SOURCE_QUEUE_URL,
    deadLetterQueueUrl: deps.queue.DEAD_LETTER_QUEUE_URL,
    maxReceiveCount: deps.queue.SOURCE_MAX_RECEIVE_COUNT,
    handleRecord: async (record) => {
      const logger = deps.logger.createChild({
        persistentKeys: { messageId: record.messageId, datasetUid: record.body.detail.datasetUid },
      });
      const receiveCount = Number(record.attributes.ApproximateReceiveCount);
      await handleDatasetClose({ ...deps, enqueue, logger }, record.body.detail, receiveCount);
    },
  });
  return (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => consume(event, context);
}
