import { describe, expect, it } from 'vitest';
import { RouteTable } from './api-routes.js';
import type { RouteWiring } from './types.js';

function route(method: string, path: string): RouteWiring {
  return { method, path, function: `${method} ${path}`, authorization: 'AWS_IAM' };
}

const table = new RouteTable([
  route('GET', '/tasks'),
  route('POST', '/tasks'),
  route('GET', '/tasks/{taskId}'),
  route('POST', '/tasks/{taskId}/cancel'),
  route('GET', '/tasks/active'),
  route('ANY', '/files/{key+}'),
  route('GET', '/'),
]);

function lookup(method: string, path: string) {
  const result = table.lookup(
    method,
    path.split('/').filter((segment) => segment !== ''),
  );
  return result.kind === 'matched'
    ? { function: result.match.route.function, parameters: result.match.pathParameters }
    : 'not-found';
}

describe('RouteTable', () => {
  it('matches literal paths by method', () => {
    expect(lookup('GET', '/tasks')).toEqual({ function: 'GET /tasks', parameters: {} });
    expect(lookup('POST', '/tasks')).toEqual({ function: 'POST /tasks', parameters: {} });
    expect(lookup('GET', '/')).toEqual({ function: 'GET /', parameters: {} });
  });

  it('binds path parameters', () => {
    expect(lookup('GET', '/tasks/t-42')).toEqual({
      function: 'GET /tasks/{taskId}',
      parameters: { taskId: 't-42' },
    });
    expect(lookup('POST', '/tasks/t-42/cancel')).toEqual({
      function: 'POST /tasks/{taskId}/cancel',
      parameters: { taskId: 't-42' },
    });
  });

  it('prefers a literal segment over a parameter', () => {
    expect(lookup('GET', '/tasks/active')).toEqual({ function: 'GET /tasks/active', parameters: {} });
  });

  it('lets a greedy parameter take the rest of the path under ANY', () => {
    expect(lookup('DELETE', '/files/run42/reco/0001.root')).toEqual({
      function: 'ANY /files/{key+}',
      parameters: { key: 'run42/reco/0001.root' },
    });
    expect(lookup('GET', '/files')).toBe('not-found');
  });

  it('finds nothing for unknown paths or methods, without falling back to a less specific resource', () => {
    expect(lookup('GET', '/pilots')).toBe('not-found');
    expect(lookup('DELETE', '/tasks/t-42')).toBe('not-found');
    expect(lookup('POST', '/tasks/active')).toBe('not-found');
    expect(lookup('GET', '/tasks/t-42/cancel/now')).toBe('not-found');
  });
});
