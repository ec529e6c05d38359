import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { awsClients } from '../../shared/aws/index.js';
import { loadConfig } from '../../shared/config/index.js';
import { createRepositories, tableNamesFromConfig } from '../../shared/repositories/index.js';
import { createObservability, publishMetrics } from '../common/index.js';
import { FileInputConfig } from './config.js';
import { createFileInputHandler } from './handler.js';

const config = loadConfig(FileInputConfig);
const clients = awsClients();
const repos = createRepositories({ doc: clients.doc, tables: tableNamesFromConfig(config) });
const { logger, metrics } = createObservability('file-input');

export const handler = middy(createFileInputHandler({ repos, sqs: clients.sqs, logger, queue: config }))
  .use(injectLambdaContext(logger))
  .use(publishMetrics(metrics));
