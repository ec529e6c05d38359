import type { Logger } from '@aws-lambda-powertools/logger';
import { JSONStringified } from '@aws-lambda-powertools/parser/helpers';
import { SqsRecordSchema } from '@aws-lambda-powertools/parser/schemas';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { Repositories } from '../../shared/repositories/index.js';
import {
  type EnqueueJobGeneration,
  type GenerationLimits,
  type GenerationOutcome,
  generateJobs,
  JobGenerationMessage,
  sendJobGenerationMessage,
} from '../../shared/services/index.js';
import { type ConsumerQueueConfig, createSqsConsumer } from '../common/index.js';

export interface JobGeneratorDeps {
  repos: Pick<Repositories, 'tasks' | 'jobs' | 'files' | 'datasets'>;
  sqs: SQSClient;
  logger: Logger;
  queue: ConsumerQueueConfig;
  jobGenerationQueueUrl: string;
  filesPerInvocation: number;
  maxPageSize: number;
  reserveMs: number;
}

/** One SQS record of the job-generation queue, its body validated as a JobGenerationMessage. */
export const JobGenerationRecord = SqsRecordSchema.extend({ body: JSONStringified(JobGenerationMessage) });

/**
 * The SQS handler of the job-generation queue (batch size 1): one generation pass per message,
 * bounded by the file budget and the invocation's remaining time.
 */
export function createJobGeneratorHandler(deps: JobGeneratorDeps) {
  const enqueue: EnqueueJobGeneration = (message) =>
    sendJobGenerationMessage(deps.sqs, deps.jobGenerationQueueUrl, message);
  return (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    const limits: GenerationLimits = {
      filesPerInvocation: deps.filesPerInvocation,
      maxPageSize: deps.maxPageSize,
      remainingMs: () => context.getRemainingTimeInMillis(),
      reserveMs: deps.reserveMs,
    };
    const consume = createSqsConsumer({
      recordSchema: JobGenerationRecord,
      sqs: deps.sqs,
      logger: deps.logger,
      sourceQueueUrl: deps.queue.SOURCE_QUEUE_URL,
      deadLetterQueueUrl: deps.queue.DEAD_LETTER_QUEUE_URL,
      maxReceiveCount: deps.queue.SOURCE_MAX_RECEIVE_COUNT,
      handleRecord: async (record) => {
        const message = record.body;
        const outcome: GenerationOutcome = await generateJobs(deps.repos, enqueue, message, limits);
        deps.logger.info('job generation pass', {
          taskId: message.taskId,
          resumed: message.cursor !== undefined,
          ...outcome,
        });
      },
    });
    return consume(event, context);
  };
}
