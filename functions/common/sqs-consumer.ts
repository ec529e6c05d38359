import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Logger } from '@aws-lambda-powertools/logger';
import { ChangeMessageVisibilityCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { z } from 'zod';
import { formatIssues } from '../../events/index.js';
import { ValidationError } from '../../shared/errors/index.js';
import { sendToDeadLetterQueue } from './dead-letter.js';
import { DeferMessageError, PoisonMessageError } from './errors.js';

export interface SqsConsumerOptions<T> {
  /** The schema of one whole SQS record (see events/ sqsEventBridgeRecordSchema). */
  recordSchema: z.ZodType<T>;
  handleRecord: (message: T, record: SQSRecord) => Promise<void>;
  sqs: SQSClient;
  logger: Logger;
  sourceQueueUrl: string;
  deadLetterQueueUrl: string;
  /** The queue's redrive maxReceiveCount: the last delivery dead-letters with its reason. */
  maxReceiveCount: number;
}

export interface SqsOutcome {
  code: string;
  reason: string;
}

const receiveCountOf = (record: SQSRecord) => Number(record.attributes.ApproximateReceiveCount ?? '1');

/**
 * An SQS consumer with Lambda's partial batch responses, validating each record on its own.
 * - invalid record or PoisonMessageError: dead-lettered at once with the reason (the field
 *   paths for invalid ones), reported as processed so it is not retried in vain;
 * - DeferMessageError: made invisible for its delay and reported failed, so SQS keeps it;
 * - any other error: reported failed and retried; on the last delivery it is dead-lettered
 *   by this consumer instead of by the redrive policy, so the reason is kept.
 */
export function createSqsConsumer<T>(options: SqsConsumerOptions<T>) {
  const { logger } = options;
  const deadLetter = async (record: SQSRecord, outcome: SqsOutcome) => {
    logger.warn('dead-lettering message', { messageId: record.messageId, ...outcome });
    await sendToDeadLetterQueue(options.sqs, options.deadLetterQueueUrl, {
      body: record.body,
      code: outcome.code,
      reason: outcome.reason,
      sourceQueueUrl: options.sourceQueueUrl,
      receiveCount: receiveCountOf(record),
    });
  };

  const processRecord = async (record: SQSRecord): Promise<void> => {
    const parsed = options.recordSchema.safeParse(record);
    if (!parsed.success) {
      const issues = formatIssues(parsed.error);
      await deadLetter(record, {
        code: 'VALIDATION',
        reason: issues.map((issue) => `${issue.path}: ${issue.message}`).join('; '),
      });
      return;
    }
    const lastDelivery = receiveCountOf(record) >= options.maxReceiveCount;
    try {
      await options.handleRecord(parsed.data, record);
    } catch (error) {
      if (error instanceof PoisonMessageError)
        return deadLetter(record, { code: error.code, reason: error.message });
      if (error instanceof ValidationError)
        return deadLetter(record, { code: 'VALIDATION', reason: error.message });
      if (error instanceof DeferMessageError) {
        if (lastDelivery || error.deadLetterNow)
          return deadLetter(record, { code: 'DEFERRED_TOO_LONG', reason: error.reason });
        await options.sqs.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: options.sourceQueueUrl,
            ReceiptHandle: record.receiptHandle,
            VisibilityTimeout: error.delaySeconds,
          }),
        );
        logger.info('message deferred', {
          messageId: record.messageId,
          delaySeconds: error.delaySeconds,
          reason: error.reason,
        });
        throw error;
      }
      if (lastDelivery) {
        const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        return deadLetter(record, { code: 'FAILED_EVERY_DELIVERY', reason });
      }
      logger.error('message failed; it will be retried', {
        messageId: record.messageId,
        error: error as Error,
      });
      throw error;
    }
  };

  const processor = new BatchProcessor(EventType.SQS);
  return (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
    // A batch whose records all failed is reported like any other, not thrown: the
    // outcome (nothing deleted) is the same and the response stays explicit.
    processPartialResponse(event, processRecord, processor, { context, throwOnFullBatchFailure: false });
}
