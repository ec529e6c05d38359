import type { z } from 'zod';
import type { ValidationIssue } from './errors.js';

const IDENTIFIER_KEY = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** Renders a zod path the way a reader writes it: `inputs[0].name`, `body["detail-type"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path
    .map((segment, index) => {
      if (typeof segment === 'number') return `[${segment}]`;
      if (typeof segment === 'symbol') return `[${segment.toString()}]`;
      if (IDENTIFIER_KEY.test(segment)) return index === 0 ? segment : `.${segment}`;
      return `[${JSON.stringify(segment)}]`;
    })
    .join('');
}

/**
 * One `{ path, message }` per problem. An unknown field on a strict object becomes an issue
 * at that field's own path, so the producer sees which field to remove.
 */
export function formatIssues(error: z.ZodError): ValidationIssue[] {
  return error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ path: formatPath([...issue.path, key]), message: 'unknown field' }))
      : [{ path: formatPath(issue.path), message: issue.message }],
  );
}
