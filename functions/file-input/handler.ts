import type { Logger } from '@aws-lambda-powertools/logger';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DETAIL_TYPES, type FileInputDetail, sqsEventBridgeRecordSchema } from '../../events/index.js';
import type { TaskRecord } from '../../shared/model/index.js';
import type { Repositories } from '../../shared/repositories/index.js';
import {
  createStreamingJobs,
  describeFileConflict,
  type InputFileOutcome,
  registerInputFile,
  type StreamingJob,
  streamingTasksReading,
} from '../../shared/services/index.js';
import { type ConsumerQueueConfig, createSqsConsumer, PoisonMessageError } from '../common/index.js';

export interface FileInputDeps {
  repos: Pick<Repositories, 'files' | 'datasets' | 'tasks' | 'jobs'>;
  sqs: SQSClient;
  logger: Logger;
  queue: ConsumerQueueConfig;
}

/** The RUNNING streaming map tasks reading a dataset. */
export type StreamingTaskLookup = (datasetUid: string) => Promise<TaskRecord[]>;

export interface FileInputResult {
  registration: Extract<InputFileOutcome, { status: 'registered' | 'duplicate' }>['status'];
  jobs: StreamingJob[];
}

/**
 * The streaming-task lookup of one invocation: files of the same dataset in a batch share one
 * query. A task started during the invocation is caught by the generation at dataset close.
 */
export function streamingTaskLookup(tasks: Repositories['tasks']): StreamingTaskLookup {
  const byDataset = new Map<string, Promise<TaskRecord[]>>();
  return (datasetUid) => {
    let found = byDataset.get(datasetUid);
    if (!found) {
      found = streamingTasksReading(tasks, datasetUid);
      // A failed lookup is not kept: the next record asks again.
      found.catch(() => byDataset.delete(datasetUid));
      byDataset.set(datasetUid, found);
    }
    return found;
  };
}

/**
 * Registers one announced input file and makes its jobs for the streaming tasks reading the
 * dataset. A repeated announcement registers nothing but still makes sure the jobs exist
 * (an earlier delivery may have stopped between the two). A file that can never be registered
 * is a PoisonMessageError naming why.
 */
export async function handleFileInput(
  deps: Pick<FileInputDeps, 'repos' | 'logger'>,
  detail: FileInputDetail,
  streamingTasks: StreamingTaskLookup,
): Promise<FileInputResult> {
  const { datasetUid, file } = detail;
  const outcome = await registerInputFile(deps.repos, detail);
  switch (outcome.status) {
    case 'conflict':
      throw new PoisonMessageError('FILE_CONFLICT', describeFileConflict(outcome.registered, file));
    case 'dataset-not-open':
      throw new PoisonMessageError(
        'DATASET_NOT_OPEN',
        `dataset ${datasetUid} is ${outcome.dataset.state}: it takes no more files (file ${file.name})`,
      );
    case 'registered':
    case 'duplicate':
      break;
  }
  const jobs = await createStreamingJobs(deps.repos.jobs, await streamingTasks(datasetUid), datasetUid, file);
  deps.logger.info('input file registered', {
    datasetUid,
    fileName: file.name,
    registration: outcome.status,
    jobs: jobs.map((job) => ({ taskId: job.taskId, jobId: job.jobId, created: job.created })),
  });
  return { registration: outcome.status, jobs };
}

const FileInputRecord = sqsEventBridgeRecordSchema(DETAIL_TYPES.fileInput);

/** The SQS handler of the inbound-files queue. */
export function createFileInputHandler(deps: FileInputDeps) {
  return (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    const streamingTasks = streamingTaskLookup(deps.repos.tasks);
    const consume = createSqsConsumer({
      recordSchema: FileInputRecord,
      sqs: deps.sqs,
      logger: deps.logger,
      sourceQueueUrl: deps.queue.SOURCE_QUEUE_URL,
      deadLetterQueueUrl: deps.queue.DEAD_LETTER_QUEUE_URL,
      maxReceiveCount: deps.queue.SOURCE_MAX_RECEIVE_COUNT,
      handleRecord: async (record) => {
        const logger = deps.logger.createChild({ persistentKeys: { messageId: record.messageId } });
        await handleFileInput({ repos: deps.repos, logger }, record.body.detail, streamingTasks);
      },
    });
    return consume(event, context);
  };
}
