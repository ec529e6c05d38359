import type { z } from 'zod';
import { formatIssues, ValidationError } from '../shared/errors/index.js';

export { formatIssues, formatPath } from '../shared/errors/index.js';

/** Parses `value` or throws a ValidationError naming every bad field; `what` names the value. */
export function parseOrThrow<Schema extends z.ZodType>(
  schema: Schema,
  value: unknown,
  what: string,
): z.output<Schema> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new ValidationError(`invalid ${what}`, formatIssues(result.error), { cause: result.error });
}
