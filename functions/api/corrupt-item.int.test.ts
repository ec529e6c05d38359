/** A stored item the code cannot read is the server's failure: the API answers 500, never 400. */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { ErrorResponse } from '../../events/api.js';
import { type AwsClients, createAwsClients } from '../../shared/aws/index.js';
import {
  createFunctionResources,
  type FunctionResources,
  lambdaContext,
  proxyEvent,
} from './test-support.js';

type Handler = (event: APIGatewayProxyEvent, context: unknown) => Promise<APIGatewayProxyResult>;

let clients: AwsClients;
let resources: FunctionResources;
let handler: Handler;

beforeAll(async () => {
  clients = createAwsClients();
  resources = await createFunctionResources('api-corrupt', clients);
  Object.assign(process.env, resources.env, { POWERTOOLS_LOG_LEVEL: 'SILENT' });
  ({ handler } = (await import('./index.js')) as { handler: Handler });
});

describe('the api function meeting a corrupt stored item', () => {
  it('answers 500 with the request id, not a 400 that would blame the caller', async () => {
    // Prepare: a job item no writer of this code would store (its attempt is not a number).
    await clients.doc.send(
      new PutCommand({
        TableName: resources.tables.jobs,
        Item: { jobId: 'j-corrupt', taskId: 't-corrupt', state: 'READY', attempt: 'first' },
      }),
    );
    const event = proxyEvent({ method: 'GET', path: '/jobs/j-corrupt', resource: '/jobs/{jobId}' });

    // Act
    const result = await handler(event, lambdaContext('api'));

    // Assess
    expect(result.statusCode).toBe(500);
    const body = ErrorResponse.parse(JSON.parse(result.body));
    expect(body.error.code).toBe('INTERNAL_ERROR');
    expect(body.error.message).toContain(event.requestContext.requestId);
    expect(body.error.issues).toBeUndefined();
  });
});
