/**
 * API function of the runtime tests: answers with what it received and the configuration of
 * its own worker. The item id `malformed` returns a response API Gateway must refuse; `slow`
 * answers after the milliseconds of its `ms` query parameter.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { APIGatewayProxyEventSchema } from '@aws-lambda-powertools/parser/schemas';
import type { APIGatewayProxyResult, Context } from 'aws-lambda';
import { fixtureRole } from './observations.js';

const ENVIRONMENT_SHOWN = [
  'OBSERVATIONS_TABLE',
  'WORK_QUEUE_URL',
  'BUS_ARN',
  'RECORDS_INDEX_ARN',
  'AWS_LAMBDA_FUNCTION_NAME',
];

export async function handler(
  event: unknown,
  context: Context,
): Promise<APIGatewayProxyResult | { statusCode: string }> {
  const request = APIGatewayProxyEventSchema.parse(event);
  if (request.pathParameters?.itemId === 'malformed') return { statusCode: 'not a number' };
  if (request.pathParameters?.itemId === 'slow') await sleep(Number(request.queryStringParameters?.ms));
  return {
    statusCode: request.httpMethod === 'POST' ? 201 : 200,
    headers: { 'content-type': 'application/json', 'x-fixture-role': fixtureRole },
    body: JSON.stringify({
      resource: request.resource,
      path: request.path,
      httpMethod: request.httpMethod,
      pathParameters: request.pathParameters,
      queryStringParameters: request.queryStringParameters,
      body: request.body,
      accessKey: request.requestContext.identity.accessKey,
      userArn: request.requestContext.identity.userArn,
      stage: request.requestContext.stage,
      functionName: context.functionName,
      environment: Object.fromEntries(ENVIRONMENT_SHOWN.map((name) => [name, process.env[name]])),
    }),
  };
}
