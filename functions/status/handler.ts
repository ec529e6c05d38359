import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { JSONStringified } from '@aws-lambda-powertools/parser/helpers';
import { SqsRecordSchema } from '@aws-lambda-powertools/parser/schemas';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { PilotStatusMessage } from '../../events/index.js';
import { applyPilotStatus, type ResultDeps, type StatusOutcome } from '../../shared/services/results.js';
import { type ConsumerQueueConfig, createSqsConsumer } from '../common/index.js';
import { EventOutbox } from './outbox.js';

export interface StatusDeps {
  results: ResultDeps;
  sqs: SQSClient;
  eventBridge: EventBridgeClient;
  logger: Logger;
  metrics: Metrics;
  queue: ConsumerQueueConfig;
}

/** One SQS record of the status queue, its body validated as a PilotStatusMessage. */
export const StatusRecord = SqsRecordSchema.extend({ body: JSONStringified(PilotStatusMessage) });

function recordMetrics(metrics: Metrics, outcome: StatusOutcome): void {
  if (outcome.kind === 'done') metrics.addMetric('JobsDone', MetricUnit.Count, 1);
  if (outcome.kind === 'failed') metrics.addMetric('JobsFailed', MetricUnit.Count, 1);
}

function logOutcome(logger: Logger, outcome: StatusOutcome): void {
  const { kind } = outcome;
  if (kind === 'ignored') logger.info('status message ignored', { reason: outcome.reason });
  else if (kind === 'progress') logger.debug('job progress', { advanced: outcome.advanced });
  else if (kind === 'retried') {
    logger.info('job retried', { nextAttempt: outcome.nextAttempt, retryAfter: outcome.retryAfter });
  } else if (kind === 'failed')
    logger.info('job failed', { errorCode: outcome.errorCode, reason: outcome.reason });
  else logger.info(`job result ${kind}`, { files: outcome.events.length });
}

/**
 * The SQS handler of the status queue. Each message is applied on its own (a bad one is
 * dead-lettered with its reason, its neighbours go on); the `file.registered` events of the
 * whole batch are then published together, and a message whose events could not be published
 * is reported failed so its redelivery announces them again.
 */
export function createStatusHandler(deps: StatusDeps) {
  return async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    const outbox = new EventOutbox();
    const consume = createSqsConsumer({
      recordSchema: StatusRecord,
      sqs: deps.sqs,
      logger: deps.logger,
      sourceQueueUrl: deps.queue.SOURCE_QUEUE_URL,
      deadLetterQueueUrl: deps.queue.DEAD_LETTER_QUEUE_URL,
      maxReceiveCount: deps.queue.SOURCE_MAX_RECEIVE_COUNT,
      handleRecord: async (record) => {
        const message = record.body;
        const logger = deps.logger.createChild({
          persistentKeys: {
            messageId: record.messageId,
            taskId: message.taskId,
            jobId: message.jobId,
            pilotId: message.pilotId,
            attempt: message.attempt,
          },
        });
        const outcome = await applyPilotStatus(deps.results, message);
        recordMetrics(deps.metrics, outcome);
        logOutcome(logger, outcome);
        if ('events' in outcome) outbox.add(record.messageId, outcome.events);
      },
    });
    const response = await consume(event, context);
    const unpublished = await outbox.publish(deps.eventBridge, deps.logger);
    return {
      batchItemFailures: [
        ...response.batchItemFailures,
        ...unpublished.map((messageId) => ({ itemIdentifier: messageId })),
      ],
    };
  };
}
