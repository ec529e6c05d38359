/**
 * One API request: route it, validate what it carries, run its operation, and answer with the
 * contract's status and body — or an ErrorResponse: 400/404/405/409/413 for what the client
 * got wrong, 500 with the request id (and a log line) for what the server did.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { RouteSpec } from '../../events/index.js';
import { contractOf, SCHEMA_CATALOG } from '../../events/index.js';
import { callerIdentityOf } from '../../shared/identity/index.js';
import { errorBody, httpErrorOf } from './errors.js';
import { type ApiDeps, type Invocation, OPERATIONS, type OperationResult } from './operations.js';
import { bodyOf, pathParams, queryOf } from './request.js';
import { Router } from './router.js';

const router = new Router();

function json(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}

/** The route's success status and body, the body parsed with the contract's response schema. */
function successResponse(route: RouteSpec, result: OperationResult): APIGatewayProxyResult {
  const responses = contractOf(route).responses;
  const statuses = Object.keys(responses).map(Number);
  const status = result.status ?? (statuses.length === 1 ? statuses[0] : undefined);
  const schemaName = status === undefined ? undefined : responses[status as keyof typeof responses];
  if (status === undefined || schemaName === undefined) {
    throw new Error(
      `${route.operationId} answered status ${result.status ?? '(none)'}, not one of ${statuses.join(', ')}`,
    );
  }
  if (schemaName === 'html') {
    if (typeof result.body !== 'string') throw new Error(`${route.operationId} answered no page`);
    return {
      statusCode: status,
      headers: { 'content-type': 'text/html; charset=utf-8', ...result.headers },
      body: result.body,
    };
  }
  const body = schemaName === 'openapi' ? result.body : SCHEMA_CATALOG[schemaName].schema.parse(result.body);
  return json(status, body);
}

function callerOf(event: APIGatewayProxyEvent): string {
  const identity = event.requestContext.identity;
  return identity.userArn ?? identity.caller ?? identity.accessKey ?? 'unknown';
}

export async function handleApiRequest(
  event: APIGatewayProxyEvent,
  deps: ApiDeps,
  invocation: Invocation,
): Promise<APIGatewayProxyResult> {
  const started = Date.now();
  const { logger } = deps;
  logger.appendKeys({ requestId: invocation.requestId, caller: callerOf(event) });
  const match = router.match(event.httpMethod, event.path);
  let response: APIGatewayProxyResult;
  if (match.kind === 'not-found') {
    response = json(404, errorBody('ROUTE_NOT_FOUND', `no route ${event.path}`));
  } else if (match.kind === 'method-not-allowed') {
    const allow = match.allowed.join(', ');
    response = json(
      405,
      errorBody('METHOD_NOT_ALLOWED', `${event.httpMethod} is not allowed on ${event.path}; use ${allow}`),
      {
        allow,
      },
    );
  } else {
    const { route } = match;
    logger.appendKeys({ operationId: route.operationId, ...match.params });
    const operation = OPERATIONS[route.operationId];
    try {
      if (operation === undefined) throw new Error(`no operation for route ${route.operationId}`);
      const request = {
        params: pathParams(match.params),
        query: queryOf(event, operation.query),
        body: bodyOf(event, operation.body),
        caller: callerIdentityOf(event.requestContext.identity),
      };
      response = successResponse(route, await operation.run(request, deps, invocation));
    } catch (error) {
      const clientError = httpErrorOf(error);
      if (clientError !== undefined) {
        response = json(clientError.status, clientError.body);
      } else {
        logger.error('request failed', { error: error as Error });
        response = json(
          500,
          errorBody('INTERNAL_ERROR', `internal error; request id ${invocation.requestId}`),
        );
      }
    }
  }
  logger.info('request', {
    method: event.httpMethod,
    path: event.path,
    status: response.statusCode,
    durationMs: Date.now() - started,
  });
  return response;
}
