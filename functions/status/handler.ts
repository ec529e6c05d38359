import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { JSONStringified } from '@aws-lambda-powertools/parser/helpers';
import { SqsRecordSchema } from '@aws-lambda-powertools/parser/schemas';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { PilotStatusMessage } from '../../events/index.js';
import { ERRORS } from '../../shared/errors/index.js';
import {
  applyPilotStatus,
  applyResultsTogether,
  type ResultDeps,
  type StatusOutcome,
} from '../../shared/services/index.js';
import type { ThroughputCounts, ThroughputRecorder } from '../../shared/throughput/index.js';
import { type ConsumerQueueConfig, createSqsConsumer, PoisonMessageError } from '../common/index.js';
import { EventOutbox } from './outbox.js';

export interface StatusDeps {
  results: ResultDeps;
  sqs: SQSClient;
  eventBridge: EventBridgeClient;
  logger: Logger;
  metrics: Metrics;
  queue: ConsumerQueueConfig;
  /** Where the batch's finished jobs are counted per minute, for the dashboard's history. */
  throughput: ThroughputRecorder;
  clock?: () => Date;
}

/** One SQS record of the status queue, its body validated as a PilotStatusMessage. */
export const StatusRecord = SqsRecordSchema.extend({ body: JSONStringified(PilotStatusMessage) });

function recordMetrics(metrics: Metrics, outcome: StatusOutcome, finished: ThroughputCounts): void {
  if (outcome.kind === 'done') {
    metrics.addMetric('JobsDone', MetricUnit.Count, 1);
    finished.done += 1;
  }
  if (outcome.kind === 'failed') {
    metrics.addMetric('JobsFailed', MetricUnit.Count, 1);
    finished.failed += 1;
  }
}

/**
 * One write for the whole batch. Its results are applied already, so a failure here is logged,
 * not retried: a redelivered result would be ignored as a duplicate and not counted anyway.
 */
async function recordThroughput(deps: StatusDeps, finished: ThroughputCounts): Promise<void> {
  try {
    await deps.throughput.record(finished, (deps.clock ?? (() => new Date()))());
  } catch (error) {
    deps.logger.warn('throughput not recorded', { error: error as Error, ...finished });
  }
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
 * The batch's results applied in one transaction where they all can be, by message id (see
 * applyResultsTogether); the others, and all of them when that fails, are applied one by one.
 */
async function applyTogether(deps: StatusDeps, event: SQSEvent): Promise<Map<string, StatusOutcome>> {
  const messageIds = new Map<PilotStatusMessage, string>();
  for (const record of event.Records) {
    const parsed = StatusRecord.safeParse(record);
    if (parsed.success) messageIds.set(parsed.data.body, record.messageId);
  }
  try {
    const outcomes = await applyResultsTogether(deps.results, [...messageIds.keys()]);
    return new Map([...outcomes].map(([message, outcome]) => [messageIds.get(message)!, outcome]));
  } catch (error) {
    // One by one, each result's error is handled as its own: retried, then dead-lettered.
    deps.logger.warn('results could not be applied together; applying them one by one', {
      error: error as Error,
    });
    return new Map();
  }
}

/**
 * The SQS handler of the status queue. The batch's results are applied together in one
 * transaction when they all apply as they are; otherwise each message is applied on its own (a
 * bad one is dead-lettered with its reason, its neighbours go on; so is a result refused for
 * the places of its files, once its job is failed or retried). The `file.registered`
 * events of the whole batch are then published together, and a message whose events could not
 * be published is reported failed so its redelivery announces them again. The jobs the batch
 * finished are counted for the throughput history in one write.
 */
export function createStatusHandler(deps: StatusDeps) {
  return async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    const together = await applyTogether(deps, event);
    const outbox = new EventOutbox();
    const finished: ThroughputCounts = { done: 0, failed: 0 };
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
        const outcome = together.get(record.messageId) ?? (await applyPilotStatus(deps.results, message));
        recordMetrics(deps.metrics, outcome, finished);
        logOutcome(logger, outcome);
        if ('events' in outcome) outbox.add(record.messageId, outcome.events);
        // A result refused for its files' places is kept as a dead-letter record with the
        // reason, for the operator, after its job was failed or retried.
        if ('refusal' in outcome && outcome.refusal !== undefined)
          throw new PoisonMessageError(ERRORS.STAGE_OUT_LOCATION_REFUSED.name, outcome.refusal);
      },
    });
    const response = await consume(event, context);
    // The count waits for no one: it is written while the batch's events are published.
    const [unpublished] = await Promise.all([
      outbox.publish(deps.eventBridge, deps.logger),
      recordThroughput(deps, finished),
    ]);
    return {
      batchItemFailures: [
        ...response.batchItemFailures,
        ...unpublished.map((messageId) => ({ itemIdentifier: messageId })),
      ],
    };
  };
}
