import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { awsClients } from '../../shared/aws/index.js';
import { loadConfig } from '../../shared/config/index.js';
import { createRepositories, tableNamesFromConfig } from '../../shared/repositories/index.js';
import { createObservability, publishMetrics } from '../common/index.js';
import { JobGeneratorConfig } from './config.js';
import { createJobGeneratorHandler } from './handler.js';

const config = loadConfig(JobGeneratorConfig);
const clients = awsClients();
const repos = createRepositories({ doc: clients.doc, tables: tableNamesFromConfig(config) });
const { logger, metrics } = createObservability('job-generator');

export const handler = middy(
  createJobGeneratorHandler({
    repos,
    sqs: clients.sqs,
    logger,
    queue: config,
    jobGenerationQueueUrl: config.JOB_GENERATION_QUEUE_URL,
    filesPerInvocation: config.JOB_GENERATION_FILES_PER_INVOCATION,
    maxPageSize: config.JOB_GENERATION_PAGE_SIZE,
    reserveMs: config.JOB_GENERATION_RESERVE_SECONDS * 1000,
  }),
)
  .use(injectLambdaContext(logger))
  .use(publishMetrics(metrics));
