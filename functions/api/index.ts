/** The REST API: one Lambda behind API Gateway (IAM authorization), every route of events/routes.ts. */

import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { awsClients } from '../../shared/aws/index.js';
import { loadConfig } from '../../shared/config/index.js';
import { createRepositories, tableNamesFromConfig } from '../../shared/repositories/index.js';
import { createThroughputHistory } from '../../shared/throughput/index.js';
import { createObservability, METRICS_NAMESPACE, METRICS_SERVICE, publishMetrics } from '../common/index.js';
import { handleApiRequest } from './api.js';
import { ApiConfig } from './config.js';
import { serverUrlOf } from './request.js';

/** Time kept back from the Lambda deadline: a long operation stops starting new pages of work. */
const DEADLINE_MARGIN_MS = 5_000;

const config = loadConfig(ApiConfig);
const clients = awsClients();
const repos = createRepositories({ doc: clients.doc, tables: tableNamesFromConfig(config) });
const { logger, metrics } = createObservability('api');
const throughput = createThroughputHistory(config.THROUGHPUT_HISTORY, {
  cloudWatch: clients.cloudWatch,
  control: repos.control,
  metrics: { namespace: METRICS_NAMESPACE, service: METRICS_SERVICE },
});

export const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(publishMetrics(metrics))
  .handler((event: APIGatewayProxyEvent, context: Context) =>
    handleApiRequest(
      event,
      {
        repos,
        sqs: clients.sqs,
        eventBridge: clients.eventBridge,
        s3: clients.s3,
        config,
        logger,
        throughput,
      },
      {
        requestId: event.requestContext.requestId ?? context.awsRequestId,
        pastDeadline: () => context.getRemainingTimeInMillis() < DEADLINE_MARGIN_MS,
        serverUrl: serverUrlOf(event),
      },
    ),
  );
