import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { awsClients } from '../../shared/aws/index.js';
import { loadConfig } from '../../shared/config/index.js';
import { createRepositories, tableNamesFromConfig } from '../../shared/repositories/index.js';
import { createObservability, publishMetrics } from '../common/index.js';
import { DatasetAdminConfig } from './config.js';
import { createDatasetAdminHandler } from './handler.js';

const config = loadConfig(DatasetAdminConfig);
const clients = awsClients();
const repos = createRepositories({ doc: clients.doc, tables: tableNamesFromConfig(config) });
const { logger, metrics } = createObservability('dataset-admin');

export const handler = middy(createDatasetAdminHandler({ repos, sqs: clients.sqs, logger, queue: config }))
  .use(injectLambdaContext(logger))
  .use(publishMetrics(metrics));
