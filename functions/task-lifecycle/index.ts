import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { awsClients } from '../../shared/aws/index.js';
import { loadConfig } from '../../shared/config/index.js';
import { createRepositories, tableNamesFromConfig } from '../../shared/repositories/index.js';
import { createObservability, publishMetrics } from '../common/index.js';
import { TaskLifecycleConfig } from './config.js';
import { createTaskLifecycleHandler } from './handler.js';

const config = loadConfig(TaskLifecycleConfig);
const clients = awsClients();
const repos = createRepositories({ doc: clients.doc, tables: tableNamesFromConfig(config) });
const { logger, metrics } = createObservability('task-lifecycle');

export const handler = middy(
  createTaskLifecycleHandler({
    completion: {
      repos,
      eventBusName: config.EVENT_BUS_NAME,
      checklists: {
        s3: clients.s3,
        bucket: config.DATA_BUCKET,
        inlineMaxFiles: config.CHECKLIST_INLINE_MAX_FILES,
      },
    },
    eventBridge: clients.eventBridge,
    logger,
  }),
)
  .use(injectLambdaContext(logger))
  .use(publishMetrics(metrics));
