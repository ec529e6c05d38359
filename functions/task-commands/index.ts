/** Task commands from the bus (`task.submitted`, `task.cancel`, `task.priority`) via the task-commands queue. */

import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { awsClients } from '../../shared/aws/index.js';
import { loadConfig } from '../../shared/config/index.js';
import { createRepositories, tableNamesFromConfig } from '../../shared/repositories/index.js';
import { createObservability, createSqsConsumer, publishMetrics } from '../common/index.js';
import { applyTaskCommand, taskCommandRecordSchema } from './commands.js';
import { TaskCommandsConfig } from './config.js';

/** Time kept back from the Lambda deadline: a cancellation stops and continues in a new message. */
const DEADLINE_MARGIN_MS = 10_000;

const config = loadConfig(TaskCommandsConfig);
const clients = awsClients();
const repos = createRepositories({ doc: clients.doc, tables: tableNamesFromConfig(config) });
const { logger, metrics } = createObservability('task-commands');
const deps = {
  repos,
  sqs: clients.sqs,
  eventBridge: clients.eventBridge,
  eventBusName: config.EVENT_BUS_NAME,
  jobGenerationQueueUrl: config.JOB_GENERATION_QUEUE_URL,
  counterShards: config.TASK_COUNTER_SHARDS,
  logger,
};

export const handler = middy<SQSEvent, SQSBatchResponse>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(publishMetrics(metrics))
  .handler((event: SQSEvent, context: Context) => {
    const pastDeadline = () => context.getRemainingTimeInMillis() < DEADLINE_MARGIN_MS;
    const consume = createSqsConsumer({
      recordSchema: taskCommandRecordSchema,
      handleRecord: (message, record) => applyTaskCommand(deps, message, record, pastDeadline),
      sqs: clients.sqs,
      logger,
      sourceQueueUrl: config.SOURCE_QUEUE_URL,
      deadLetterQueueUrl: config.DEAD_LETTER_QUEUE_URL,
      maxReceiveCount: config.SOURCE_MAX_RECEIVE_COUNT,
    });
    return consume(event, context);
  });
