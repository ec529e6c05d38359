/** The parts of an API Gateway proxy event an operation takes, each validated with its schema. */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { z } from 'zod';
import { formatIssues, ValidationError, type ValidationIssue } from '../../shared/errors/index.js';
import { Identifier } from '../../shared/model/index.js';
import { PayloadTooLargeError, UnsupportedMediaTypeError } from './errors.js';

/** Enough for the largest valid task (256 arguments of 4 KiB) with room to spare; Lambda allows 6 MB. */
export const MAX_BODY_BYTES = 2 * 1024 * 1024;

function prefixed(prefix: string, issues: readonly ValidationIssue[]): ValidationIssue[] {
  return issues.map((issue) => ({
    path: issue.path === '(root)' ? prefix : `${prefix}.${issue.path}`,
    message: issue.message,
  }));
}

function check<Schema extends z.ZodType>(
  schema: Schema,
  value: unknown,
  what: string,
  prefix?: string,
): z.output<Schema> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = formatIssues(parsed.error);
  throw new ValidationError(`invalid ${what}`, prefix === undefined ? issues : prefixed(prefix, issues), {
    cause: parsed.error,
  });
}

/** Path parameters are identifiers; a bad one is named `path.<param>`. */
export function pathParams(params: Readonly<Record<string, string>>): Record<string, string> {
  const issues = Object.entries(params).flatMap(([name, value]) => {
    const parsed = Identifier.safeParse(value);
    return parsed.success ? [] : prefixed(`path.${name}`, formatIssues(parsed.error));
  });
  if (issues.length > 0) throw new ValidationError('invalid path', issues);
  return { ...params };
}

/** The query string against the route's schema (`query.<name>` in issues); none allowed without one. */
export function queryOf<Schema extends z.ZodType>(
  event: Pick<APIGatewayProxyEvent, 'queryStringParameters'>,
  schema: Schema | undefined,
): z.output<Schema> | undefined {
  const query = event.queryStringParameters ?? {};
  if (schema !== undefined) return check(schema, query, 'query', 'query');
  const unknown = Object.keys(query).map((name) => ({ path: `query.${name}`, message: 'unknown parameter' }));
  if (unknown.length > 0) throw new ValidationError('invalid query', unknown);
  return undefined;
}

/** The only media type of a request body; parameters such as `charset=utf-8` may follow it. */
const JSON_MEDIA_TYPE = 'application/json';

function headerOf(event: Pick<APIGatewayProxyEvent, 'headers'>, name: string): string | undefined {
  const entry = Object.entries(event.headers ?? {}).find(([key]) => key.toLowerCase() === name);
  return entry?.[1] ?? undefined;
}

/** Refuses a body that is not declared `application/json` (UnsupportedMediaTypeError, 415). */
export function requireJsonBody(event: Pick<APIGatewayProxyEvent, 'headers'>): void {
  const contentType = headerOf(event, 'content-type');
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
  if (mediaType !== JSON_MEDIA_TYPE) throw new UnsupportedMediaTypeError(contentType);
}

/**
 * The JSON body against the route's schema; issues name the body's own fields. Ignored without
 * a schema; a body of another Content-Type is refused before it is read.
 */
export function bodyOf<Schema extends z.ZodType>(
  event: Pick<APIGatewayProxyEvent, 'body' | 'isBase64Encoded' | 'headers'>,
  schema: Schema | undefined,
): z.output<Schema> | undefined {
  if (schema === undefined) return undefined;
  requireJsonBody(event);
  const raw = event.body ?? '';
  const bytes = Buffer.from(raw, event.isBase64Encoded ? 'base64' : 'utf8');
  if (bytes.length > MAX_BODY_BYTES) throw new PayloadTooLargeError(bytes.length, MAX_BODY_BYTES);
  if (bytes.length === 0) {
    throw new ValidationError('invalid body', [{ path: '(root)', message: 'a JSON body is required' }]);
  }
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new ValidationError(
      'invalid body',
      [{ path: '(root)', message: `is not valid JSON: ${(error as Error).message}` }],
      { cause: error },
    );
  }
  return check(schema, value, 'body');
}

/**
 * The API's base URL as the caller reached it: API Gateway's domain and stage, with the
 * scheme from `X-Forwarded-Proto` (https unless a front end says otherwise). Undefined when
 * the event names no host.
 */
export function serverUrlOf(
  event: Pick<APIGatewayProxyEvent, 'headers' | 'requestContext'>,
): string | undefined {
  const header = (name: string) => headerOf(event, name);
  const host = event.requestContext.domainName ?? header('host');
  if (host === undefined) return undefined;
  const scheme = header('x-forwarded-proto')?.split(',')[0]?.trim() || 'https';
  const stage = event.requestContext.stage;
  return `${scheme}://${host}${stage && stage !== '$default' ? `/${stage}` : ''}`;
}
