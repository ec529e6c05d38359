import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ROUTES } from '../../events/routes.js';
import { Router } from './router.js';

const router = new Router();

describe('Router', () => {
  it('matches every route of the table by method and path, with its path parameters', () => {
    for (const route of ROUTES) {
      const path = route.path.replace(/\{(\w+)\}/g, (_, name: string) => `${name}-value`);
      const match = router.match(route.method, path);
      expect(match).toMatchObject({ kind: 'matched', route: { operationId: route.operationId } });
      const names = [...route.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => name!);
      expect(match.kind === 'matched' && match.params).toEqual(
        Object.fromEntries(names.map((name) => [name, `${name}-value`])),
      );
    }
  });

  it('tells a known path with another method (405, with the allowed ones) from an unknown path (404)', () => {
    expect(router.match('DELETE', '/tasks/t-1')).toEqual({ kind: 'method-not-allowed', allowed: ['GET'] });
    expect(router.match('PATCH', '/tasks')).toEqual({ kind: 'method-not-allowed', allowed: ['POST', 'GET'] });
    expect(router.match('GET', '/tasks/t-1/cancel')).toEqual({
      kind: 'method-not-allowed',
      allowed: ['POST'],
    });
    expect(router.match('GET', '/nothing/here')).toEqual({ kind: 'not-found' });
    expect(router.match('GET', '/tasks/t-1/jobs/extra')).toEqual({ kind: 'not-found' });
  });

  it('accepts lower-case methods and ignores empty segments, as API Gateway does', () => {
    expect(router.match('get', '/tasks/t-1/')).toMatchObject({ kind: 'matched', params: { taskId: 't-1' } });
  });

  it('prefers a literal segment over a parameter', () => {
    const routes = [
      { method: 'GET', path: '/jobs/{jobId}', operationId: 'getJob', summary: '', callers: [] },
      { method: 'GET', path: '/jobs/recent', operationId: 'recentJobs', summary: '', callers: [] },
    ] as const;
    const table = new Router(routes);
    expect(table.match('GET', '/jobs/recent')).toMatchObject({ route: { operationId: 'recentJobs' } });
    expect(table.match('GET', '/jobs/j-1')).toMatchObject({ route: { operationId: 'getJob' } });
  });

  it('never throws, whatever the method and path', () => {
    fc.assert(
      fc.property(fc.string(), fc.array(fc.string(), { maxLength: 6 }), (method, segments) => {
        const match = router.match(method, `/${segments.join('/')}`);
        expect(['matched', 'method-not-allowed', 'not-found']).toContain(match.kind);
      }),
    );
  });
});
