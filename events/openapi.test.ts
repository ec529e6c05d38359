import { describe, expect, it } from 'vitest';
import type { SCHEMA_CATALOG } from './catalog.js';
import { buildOpenApiDocument, ROUTE_CONTRACTS, routeSchemaNames } from './openapi.js';
import { ROUTES } from './routes.js';

type Operation = {
  parameters: { name: string; in: string; required: boolean }[];
  requestBody?: { content: { 'application/json': { schema: { $ref: string } } } };
  responses: Record<string, unknown>;
};
type OpenApiDocument = {
  openapi: string;
  servers?: { url: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown> };
};

const REST_ROUTES = [
  'POST /tasks',
  'GET /tasks',
  'GET /tasks/{id}',
  'POST /tasks/{id}/cancel',
  'PUT /tasks/{id}/rank',
  'GET /tasks/{id}/jobs',
  'GET /tasks/{id}/files',
  'GET /jobs/{id}',
  'GET /datasets/{id}',
  'GET /pilots',
  'POST /pilots',
  'POST /pilots/{id}/heartbeat',
  'POST /jobs/{id}/claim',
  'GET /openapi.json',
  'POST /audit',
  'GET /dead-letters',
  'POST /dead-letters/{id}/redrive',
  'GET /dashboard',
  'GET /dashboard/summary',
  'GET /dashboard/history',
  'POST /tasks/{id}/hold',
  'POST /tasks/{id}/release',
  'POST /tasks/{id}/retry',
  'POST /jobs/{id}/retry',
  'GET /jobs/{id}/log',
  'POST /pilots/{id}/drain',
  'POST /pilots/{id}/kill',
  'GET /dead-letters/{id}/messages',
  'POST /dead-letters/{id}/purge',
  'GET /tasks/{id}/analysis',
  'GET /pilot-config',
];

function refsIn(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(refsIn);
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, inner]) =>
    key === '$ref' && typeof inner === 'string' ? [inner] : refsIn(inner),
  );
}

const anonymousParameters = (path: string) => path.replace(/\{[^}]+\}/g, '{id}');

describe('ROUTE_CONTRACTS', () => {
  it('give a contract to every route of ROUTES and to nothing else', () => {
    // Assess
    expect(Object.keys(ROUTE_CONTRACTS).sort()).toEqual(ROUTES.map((route) => route.operationId).sort());
  });

  it('use query schemas for queries and body schemas for bodies', () => {
    // Assess
    for (const contract of Object.values(ROUTE_CONTRACTS)) {
      if (contract.query) expect(contract.query).toMatch(/-query$/);
      if (contract.body) expect(contract.body).not.toMatch(/-query$/);
    }
  });
});

describe('buildOpenApiDocument', () => {
  const document = buildOpenApiDocument() as OpenApiDocument;

  it('describes exactly the routes of the REST API', () => {
    // Act
    const routes = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${anonymousParameters(path)}`),
    );

    // Assess
    expect(routes.sort()).toEqual([...REST_ROUTES].sort());
  });

  it('resolves every $ref to a component built from the catalog', () => {
    // Act
    const refs = new Set(refsIn(document.paths));

    // Assess
    for (const ref of refs) {
      const name = ref.replace('#/components/schemas/', '') as keyof typeof SCHEMA_CATALOG;
      expect(document.components.schemas[name], ref).toBeDefined();
    }
    expect(Object.keys(document.components.schemas).sort()).toEqual(routeSchemaNames());
  });

  it('declares path parameters and expands query schemas into parameters', () => {
    // Act
    const listJobs = document.paths['/tasks/{taskId}/jobs']!.get!;

    // Assess
    expect(listJobs.parameters.map(({ name, in: where, required }) => ({ name, where, required }))).toEqual([
      { name: 'taskId', where: 'path', required: true },
      { name: 'limit', where: 'query', required: false },
      { name: 'nextToken', where: 'query', required: false },
      { name: 'state', where: 'query', required: false },
    ]);
  });

  it('describes request bodies and error responses', () => {
    // Act
    const claim = document.paths['/jobs/{jobId}/claim']!.post!;

    // Assess
    expect(claim.requestBody?.content['application/json'].schema.$ref).toBe(
      '#/components/schemas/pilot.claim-request',
    );
    expect(Object.keys(claim.responses).sort()).toEqual(['200', '400', '403', '404', '409', '415']);
  });

  it('declares 415 on every route that takes a body, and only there', () => {
    // Act
    const operations = Object.values(document.paths).flatMap((item) => Object.values(item));

    // Assess
    for (const operation of operations) {
      expect(operation.responses['415'] !== undefined).toBe(operation.requestBody !== undefined);
    }
    expect(operations.some((operation) => operation.requestBody !== undefined)).toBe(true);
  });

  it('names the server only when given one', () => {
    // Act
    const deployed = buildOpenApiDocument('https://api.wms.example/prod') as OpenApiDocument;

    // Assess
    expect(document.servers).toBeUndefined();
    expect(deployed.servers).toEqual([{ url: 'https://api.wms.example/prod' }]);
    expect(deployed.openapi).toBe('3.1.0');
  });
});
