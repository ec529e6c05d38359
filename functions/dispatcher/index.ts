import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { awsClients } from '../../shared/aws/index.js';
import { loadConfig } from '../../shared/config/index.js';
import { createRepositories, tableNamesFromConfig } from '../../shared/repositories/index.js';
import { ReadyJobBuffer } from '../../shared/services/index.js';
import { createObservability, publishMetrics } from '../common/index.js';
import { DispatcherConfig } from './config.js';
import { createDispatcherHandler } from './handler.js';

const config = loadConfig(DispatcherConfig);
const clients = awsClients();
const repos = createRepositories({ doc: clients.doc, tables: tableNamesFromConfig(config) });
const { logger, metrics } = createObservability('dispatcher');
/** Kept READY jobs are read again after this long, so a retried or re-queued job waits no longer. */
const READ_AHEAD_MAX_AGE_MS = 30_000;
const readyJobs = new ReadyJobBuffer({
  readAhead: config.DISPATCH_READ_AHEAD,
  maxAgeMs: READ_AHEAD_MAX_AGE_MS,
});

export const handler = middy(
  createDispatcherHandler({
    repos,
    sqs: clients.sqs,
    settings: {
      jobsCpuQueueUrl: config.JOBS_CPU_QUEUE_URL,
      jobsGpuQueueUrl: config.JOBS_GPU_QUEUE_URL,
      dataBucket: config.DATA_BUCKET,
      headroomFraction: config.DISPATCH_HEADROOM_FRACTION,
    },
    logger,
    metrics,
    readyJobs,
  }),
)
  .use(injectLambdaContext(logger))
  .use(publishMetrics(metrics));
