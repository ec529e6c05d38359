import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { awsClients } from '../../shared/aws/index.js';
import { loadConfig, rankParamsOf } from '../../shared/config/index.js';
import { createRepositories, tableNamesFromConfig } from '../../shared/repositories/index.js';
import { createObservability, publishMetrics } from '../common/index.js';
import { RankUpdaterConfig } from './config.js';
import { createRankUpdaterHandler } from './handler.js';

const config = loadConfig(RankUpdaterConfig);
const clients = awsClients();
const repos = createRepositories({ doc: clients.doc, tables: tableNamesFromConfig(config) });
const { logger, metrics } = createObservability('rank-updater');

export const handler = middy(createRankUpdaterHandler({ repos, rank: rankParamsOf(config), logger }))
  .use(injectLambdaContext(logger))
  .use(publishMetrics(metrics));
