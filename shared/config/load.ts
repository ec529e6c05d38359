import type { z } from 'zod';
import { ConfigError } from '../errors/index.js';
import type { Environment } from './types.js';

function describeIssue(issue: z.core.$ZodIssue, env: Environment): string {
  const variable = String(issue.path[0] ?? '(environment)');
  const nested = issue.path.slice(1).map(String).join('.');
  const where = nested ? `${variable}.${nested}` : variable;
  if (issue.path.length > 0 && env[variable] === undefined) return `${where}: missing`;
  return `${where}: ${issue.message}`;
}

/**
 * Reads configuration from environment variables, once, strictly. An empty value counts as
 * unset (so a default applies, or the variable is reported missing). A missing or malformed
 * variable throws one ConfigError naming every bad variable, never a partial configuration.
 */
export function loadConfig<Schema extends z.ZodObject>(
  schema: Schema,
  env: Environment = process.env,
): z.infer<Schema> {
  const wanted = Object.keys(schema.shape);
  const present: Record<string, string> = {};
  for (const name of wanted) {
    const value = env[name];
    if (value !== undefined && value !== '') present[name] = value;
  }
  const parsed = schema.safeParse(present);
  if (parsed.success) return parsed.data;
  const variables = [
    ...new Set(parsed.error.issues.map((issue) => String(issue.path[0] ?? '(environment)'))),
  ];
  const details = parsed.error.issues.map((issue) => describeIssue(issue, present)).join('; ');
  throw new ConfigError(variables.join(', '), `invalid configuration: ${details}`, { cause: parsed.error });
}
