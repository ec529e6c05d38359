import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { awsClients } from '../../shared/aws/index.js';
import { loadConfig, rankParamsOf, retryPolicyOf } from '../../shared/config/index.js';
import { createRepositories, tableNamesFromConfig } from '../../shared/repositories/index.js';
import { createObservability, publishMetrics } from '../common/index.js';
import { pilotLostAfterSeconds, WatchdogConfig } from './config.js';
import { createWatchdogHandler } from './handler.js';

const config = loadConfig(WatchdogConfig);
const clients = awsClients();
const repos = createRepositories({ doc: clients.doc, tables: tableNamesFromConfig(config) });
const { logger, metrics } = createObservability('watchdog');

export const handler = middy(
  createWatchdogHandler({
    repos,
    sqs: clients.sqs,
    s3: clients.s3,
    eventBridge: clients.eventBridge,
    settings: {
      pilotLostAfterSeconds: pilotLostAfterSeconds(config),
      jobUnreportedAfterSeconds: config.JOB_UNREPORTED_AFTER_SECONDS,
      queuedStuckAfterSeconds: config.QUEUED_STUCK_AFTER_SECONDS,
      controlQueuePrefix: config.PILOT_CONTROL_QUEUE_PREFIX,
      jobsCpuQueueUrl: config.JOBS_CPU_QUEUE_URL,
      jobsGpuQueueUrl: config.JOBS_GPU_QUEUE_URL,
      rank: rankParamsOf(config),
      retryPolicy: retryPolicyOf(config),
      auditTasks: config.AUDIT_SAMPLE_TASKS,
      auditObjects: config.AUDIT_SAMPLE_OBJECTS,
      eventBusName: config.EVENT_BUS_NAME,
      archive: {
        dataBucket: config.DATA_BUCKET,
        afterSeconds: config.ARCHIVE_AFTER_SECONDS,
        retentionDays: config.ARCHIVE_RETENTION_DAYS,
        tasksPerRun: config.ARCHIVE_TASKS_PER_RUN,
      },
    },
    logger,
    metrics,
  }),
)
  .use(injectLambdaContext(logger))
  .use(publishMetrics(metrics));
