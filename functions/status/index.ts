import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { awsClients } from '../../shared/aws/index.js';
import { loadConfig, retryPolicyOf } from '../../shared/config/index.js';
import { createRepositories, tableNamesFromConfig } from '../../shared/repositories/index.js';
import { TaskSpecCache } from '../../shared/services/index.js';
import { createThroughputRecorder } from '../../shared/throughput/index.js';
import { createObservability, publishMetrics } from '../common/index.js';
import { StatusConfig } from './config.js';
import { createStatusHandler } from './handler.js';

const config = loadConfig(StatusConfig);
const clients = awsClients();
const repos = createRepositories({ doc: clients.doc, tables: tableNamesFromConfig(config) });
const { logger, metrics } = createObservability('status');

export const handler = middy(
  createStatusHandler({
    results: {
      repos,
      eventBusName: config.EVENT_BUS_NAME,
      dataBucket: config.DATA_BUCKET,
      // Kept across the invocations of this container: a task's spec is read once.
      taskSpecs: new TaskSpecCache(),
      retryPolicy: retryPolicyOf(config),
    },
    sqs: clients.sqs,
    eventBridge: clients.eventBridge,
    logger,
    metrics,
    queue: config,
    throughput: createThroughputRecorder(config.THROUGHPUT_HISTORY, { control: repos.control }),
  }),
)
  .use(injectLambdaContext(logger))
  .use(publishMetrics(metrics));
