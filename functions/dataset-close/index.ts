import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { awsClients } from '../../shared/aws/index.js';
import { loadConfig } from '../../shared/config/index.js';
import { createRepositories, tableNamesFromConfig } from '../../shared/repositories/index.js';
import { checklistObjectOpener, checklistReadPlaces } from '../../shared/services/index.js';
import { createObservability, publishMetrics } from '../common/index.js';
import { DatasetCloseConfig } from './config.js';
import { createDatasetCloseHandler } from './handler.js';

const config = loadConfig(DatasetCloseConfig);
const clients = awsClients();
const repos = createRepositories({ doc: clients.doc, tables: tableNamesFromConfig(config) });
const { logger, metrics } = createObservability('dataset-close');

export const handler = middy(
  createDatasetCloseHandler({
    repos,
    sqs: clients.sqs,
    logger,
    queue: config,
    jobGenerationQueueUrl: config.JOB_GENERATION_QUEUE_URL,
    openChecklist: checklistObjectOpener(clients.s3, checklistReadPlaces(config.DATA_BUCKET)),
    deferral: {
      baseSeconds: config.DATASET_CLOSE_BASE_SECONDS,
      maxSeconds: config.DATASET_CLOSE_MAX_SECONDS,
      maxAttempts: config.DATASET_CLOSE_MAX_ATTEMPTS,
    },
  }),
)
  .use(injectLambdaContext(logger))
  .use(publishMetrics(metrics));
