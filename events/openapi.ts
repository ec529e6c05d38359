/** What each REST route takes and returns, and the OpenAPI 3.1 document built from ROUTES and the catalog. */
import { z } from 'zod';
import { Identifier } from '../shared/model/index.js';
import { jsonSchemaOf, type SchemaName } from './catalog.js';
import { ROUTES, type RouteSpec } from './routes.js';

export type ErrorStatus = 400 | 403 | 404 | 409 | 415;

/** What one route takes and returns, by catalog name. */
export interface RouteContract {
  readonly query?: SchemaName;
  readonly body?: SchemaName;
  /** Success status and body; `openapi` is the OpenAPI document itself, `html` a page. */
  readonly responses: Readonly<Partial<Record<200 | 201, SchemaName | 'openapi' | 'html'>>>;
  readonly errors: readonly ErrorStatus[];
}

/** The contract of every route of ROUTES, by operationId. */
export const ROUTE_CONTRACTS: Readonly<Record<string, RouteContract>> = {
  registerTask: {
    body: 'api.register-task-request',
    // 200: a task with the requested id already exists (a repeated POST).
    responses: { 201: 'api.register-task-response', 200: 'api.register-task-response' },
    errors: [400],
  },
  listTasks: { query: 'api.task-list-query', responses: { 200: 'api.task-list' }, errors: [400] },
  getTask: { responses: { 200: 'api.task-view' }, errors: [400, 404] },
  cancelTask: {
    body: 'api.cancel-task-request',
    responses: { 200: 'api.task-summary' },
    errors: [400, 404, 409],
  },
  setTaskRank: {
    body: 'api.rank-update-request',
    responses: { 200: 'api.task-summary' },
    errors: [400, 404, 409],
  },
  listTaskJobs: { query: 'api.job-list-query', responses: { 200: 'api.job-list' }, errors: [400, 404] },
  listTaskFiles: { query: 'api.file-list-query', responses: { 200: 'api.file-list' }, errors: [400, 404] },
  getJob: { query: 'api.job-query', responses: { 200: 'api.job-view' }, errors: [400, 404] },
  getDataset: { responses: { 200: 'api.dataset-view' }, errors: [400, 404] },
  listPilots: { query: 'api.pilot-list-query', responses: { 200: 'api.pilot-list' }, errors: [400] },
  // A pilot re-registering after a restart under the same id is answered like a first registration.
  // 403: another principal registered the pilot id. 409: a pilot id that was declared LOST or EXITED registers again.
  registerPilot: {
    body: 'pilot.registration',
    responses: { 200: 'pilot.registration-response' },
    errors: [400, 403, 409],
  },
  // 403: the caller is not the pilot's registering principal. 409: the pilot was declared LOST; it must stop and register again.
  pilotHeartbeat: {
    body: 'pilot.heartbeat',
    responses: { 200: 'pilot.heartbeat-response' },
    errors: [400, 403, 404, 409],
  },
  // 403: the caller is not the registering principal of the pilot it claims for.
  // 409: already claimed, or no longer QUEUED (cancelled, re-queued under another attempt).
  claimJob: {
    body: 'pilot.claim-request',
    responses: { 200: 'pilot.claim-response' },
    errors: [400, 403, 404, 409],
  },
  getOpenApi: { responses: { 200: 'openapi' }, errors: [] },
  runAudit: { body: 'api.audit-request', responses: { 200: 'api.audit-report' }, errors: [400, 404] },
  listDeadLetters: { responses: { 200: 'api.dead-letter-list' }, errors: [] },
  // 409: the queue's messages cannot be redriven (no single source queue).
  redriveDeadLetters: {
    body: 'api.redrive-request',
    responses: { 200: 'api.redrive-report' },
    errors: [400, 404, 409],
  },
  getDashboard: { responses: { 200: 'html' }, errors: [] },
  getDashboardSummary: { responses: { 200: 'api.dashboard-summary' }, errors: [] },
  getDashboardHistory: {
    query: 'api.dashboard-history-query',
    responses: { 200: 'api.dashboard-history' },
    errors: [400],
  },
  // 409: the task is not RUNNING (hold) or not HELD (release).
  holdTask: { responses: { 200: 'api.task-hold-response' }, errors: [400, 404, 409] },
  releaseTask: { responses: { 200: 'api.task-hold-response' }, errors: [400, 404, 409] },
  // 409: the job is not FAILED, or its task is not RUNNING or HELD (a finished task's outputs are closed).
  retryJob: { responses: { 200: 'api.retry-report' }, errors: [400, 404, 409] },
  retryTaskJobs: { responses: { 200: 'api.retry-report' }, errors: [400, 404, 409] },
  getJobLog: { query: 'api.job-log-query', responses: { 200: 'api.job-log' }, errors: [400, 404] },
  // 409: the pilot is not live (LOST or EXITED).
  drainPilot: { responses: { 200: 'api.pilot-command-response' }, errors: [400, 404, 409] },
  killPilot: { responses: { 200: 'api.pilot-command-response' }, errors: [400, 404, 409] },
  showDeadLetters: {
    query: 'api.dead-letter-messages-query',
    responses: { 200: 'api.dead-letter-messages' },
    errors: [400, 404],
  },
  getPilotEndpoints: { responses: { 200: 'api.pilot-endpoints' }, errors: [] },
  getTaskAnalysis: { responses: { 200: 'api.task-analysis' }, errors: [400, 404] },
  // 409: SQS purged the queue less than 60 s ago.
  purgeDeadLetters: {
    body: 'api.purge-request',
    responses: { 200: 'api.purge-report' },
    errors: [400, 404, 409],
  },
};

/** The contract of a route; throws for a route the table has but the contracts miss. */
export function contractOf(route: RouteSpec): RouteContract {
  const contract = ROUTE_CONTRACTS[route.operationId];
  if (contract === undefined) throw new RangeError(`no contract for route ${route.operationId}`);
  return contract;
}

const ERROR_DESCRIPTIONS: Record<ErrorStatus, string> = {
  400: 'Invalid request; `error.issues` names each bad field.',
  403: 'The caller may not act for this pilot: another principal registered it (PILOT_IDENTITY_MISMATCH).',
  404: 'No such resource.',
  409: 'The resource is not in a state that allows this change.',
  415: 'The body is not sent as application/json (UNSUPPORTED_MEDIA_TYPE).',
};

const SUCCESS_DESCRIPTIONS = { 200: 'OK', 201: 'Created' } as const;

function componentRef(name: SchemaName) {
  return { $ref: `#/components/schemas/${name}` };
}

// Components sit inside the document, whose dialect (JSON Schema 2020-12) OpenAPI 3.1 fixes.
function componentSchema(name: SchemaName): Record<string, unknown> {
  const { $schema, ...schema } = jsonSchemaOf(name);
  return schema;
}

function pathParameters(path: string) {
  const identifier = z.toJSONSchema(Identifier, { target: 'draft-2020-12' });
  delete identifier.$schema;
  return [...path.matchAll(/\{([^}]+)\}/g)].map(([, name]) => ({
    name,
    in: 'path',
    required: true,
    schema: identifier,
  }));
}

function queryParameters(query: SchemaName) {
  const schema = componentSchema(query) as { properties: Record<string, unknown>; required?: string[] };
  return Object.entries(schema.properties).map(([name, property]) => ({
    name,
    in: 'query',
    required: schema.required?.includes(name) ?? false,
    schema: property,
  }));
}

function operation(route: RouteSpec) {
  const contract = contractOf(route);
  const responses: Record<string, unknown> = {};
  for (const [status, body] of Object.entries(contract.responses)) {
    const description = SUCCESS_DESCRIPTIONS[Number(status) as 200 | 201];
    responses[status] = {
      description,
      content:
        body === 'html'
          ? { 'text/html': { schema: { type: 'string' } } }
          : { 'application/json': { schema: body === 'openapi' ? { type: 'object' } : componentRef(body) } },
    };
  }
  // Every route that takes a body refuses one of another media type.
  const errors: ErrorStatus[] = contract.body ? [...contract.errors, 415] : [...contract.errors];
  for (const status of errors) {
    responses[status] = {
      description: ERROR_DESCRIPTIONS[status],
      content: { 'application/json': { schema: componentRef('api.error-response') } },
    };
  }
  return {
    operationId: route.operationId,
    summary: route.summary,
    parameters: [...pathParameters(route.path), ...(contract.query ? queryParameters(contract.query) : [])],
    ...(contract.body
      ? {
          requestBody: {
            required: true,
            content: { 'application/json': { schema: componentRef(contract.body) } },
          },
        }
      : {}),
    responses,
  };
}

/** Every catalog entry a route uses as a body; query strings become parameters instead. */
export function routeSchemaNames(): SchemaName[] {
  const names = new Set<SchemaName>(['api.error-response']);
  for (const route of ROUTES) {
    const contract = contractOf(route);
    if (contract.body) names.add(contract.body);
    for (const body of Object.values(contract.responses))
      if (body !== 'openapi' && body !== 'html') names.add(body);
  }
  return [...names].sort();
}

/**
 * The OpenAPI 3.1 document of the API. Every route is signed with SigV4 (IAM authorization).
 * `serverUrl` is the API's base URL where it is deployed; without it, OpenAPI means `/`.
 */
export function buildOpenApiDocument(serverUrl?: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES) {
    paths[route.path] = { ...paths[route.path], [route.method.toLowerCase()]: operation(route) };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'SPD WMS API',
      version: '1',
      description: 'Workload management system of the SPD Online Filter: tasks, jobs, datasets and pilots.',
    },
    ...(serverUrl === undefined ? {} : { servers: [{ url: serverUrl }] }),
    security: [{ sigv4: [] }],
    paths,
    components: {
      securitySchemes: {
        sigv4: {
          type: 'apiKey',
          name: 'Authorization',
          in: 'header',
          'x-amazon-apigateway-authtype': 'awsSigv4',
        },
      },
      schemas: Object.fromEntries(routeSchemaNames().map((name) => [name, componentSchema(name)])),
    },
  };
}
