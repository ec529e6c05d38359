import { describe, expect, it } from 'vitest';
import { SCHEMA_CATALOG } from '../../events/catalog.js';
import { contractOf } from '../../events/openapi.js';
import { ROUTES } from '../../events/routes.js';
import { OPERATIONS } from './operations.js';

describe('OPERATIONS', () => {
  it('has exactly one operation per route', () => {
    expect(Object.keys(OPERATIONS).sort()).toEqual(ROUTES.map((route) => route.operationId).sort());
  });

  it.each(ROUTES.map((route) => [route.operationId, route] as const))(
    '%s validates with the schemas its contract names',
    (operationId, route) => {
      const contract = contractOf(route);
      const operation = OPERATIONS[operationId]!;
      expect(operation.body).toBe(
        contract.body === undefined ? undefined : SCHEMA_CATALOG[contract.body].schema,
      );
      expect(operation.query).toBe(
        contract.query === undefined ? undefined : SCHEMA_CATALOG[contract.query].schema,
      );
    },
  );
});
