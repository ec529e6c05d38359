/**
 * The WMS REST API as the CLI uses it: every request signed with SigV4 from the standard AWS
 * credential chain, every answer checked against its contract in events/, every failure a
 * CliError with the exit code its HTTP status stands for.
 */
import type { z } from 'zod';
import { ErrorResponse } from '../../events/index.js';
import { createSignedHttp, type SignedHttp, type SigningCredentials } from '../../shared/aws/index.js';
import { formatIssues } from '../../shared/errors/index.js';
import { CliError, EXIT_CODES, exitCodeForStatus } from './exit-codes.js';

export interface ApiTarget {
  /** The API's base URL: an API Gateway stage URL, LocalStack's, or the embedded runtime's. */
  apiUrl: string;
  region: string;
  credentials?: SigningCredentials;
  timeoutMs?: number;
}

type Method = 'GET' | 'POST' | 'PUT';
type Query = Record<string, string | number | undefined>;

export interface ApiClient {
  readonly apiUrl: string;
  call<Schema extends z.ZodType>(
    method: Method,
    path: string,
    schema: Schema,
    options?: { body?: unknown; query?: Query },
  ): Promise<z.output<Schema>>;
}

/** `/tasks/<id>` with the id made safe for a path segment. */
export function pathOf(template: string, ...ids: string[]): string {
  let index = 0;
  return template.replace(/\{[^}]+\}/g, () => encodeURIComponent(ids[index++] ?? ''));
}

function errorOf(method: Method, path: string, status: number, body: unknown): CliError {
  const parsed = ErrorResponse.safeParse(body);
  if (parsed.success) {
    const { code, message, issues = [] } = parsed.data.error;
    return new CliError(
      `${message} (${code}, HTTP ${status})`,
      exitCodeForStatus(status),
      issues.map((issue) => `${issue.path}: ${issue.message}`),
    );
  }
  // API Gateway's own refusals (403 on a bad signature) carry `{ message }`.
  const message =
    typeof body === 'object' && body !== null && 'message' in body
      ? String((body as { message: unknown }).message)
      : typeof body === 'string' && body !== ''
        ? body.slice(0, 500)
        : 'no details';
  return new CliError(`${method} ${path} failed with HTTP ${status}: ${message}`, exitCodeForStatus(status));
}

export function createApiClient(target: ApiTarget): ApiClient {
  const send = createSignedHttp({
    baseUrl: target.apiUrl,
    region: target.region,
    ...(target.credentials && { credentials: target.credentials }),
    timeoutMs: target.timeoutMs ?? 30_000,
  });
  return {
    apiUrl: target.apiUrl,
    async call(method, path, schema, options = {}) {
      let response: Awaited<ReturnType<SignedHttp>>;
      try {
        response = await send(method, path, options);
      } catch (error) {
        if (error instanceof Error && error.name === 'CredentialsProviderError') {
          throw new CliError(
            `no AWS credentials to sign with: ${error.message} (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or pass --profile)`,
            EXIT_CODES.denied,
            [],
            { cause: error },
          );
        }
        const cause = error instanceof Error ? (error.cause ?? error) : error;
        throw new CliError(
          `cannot reach the API at ${target.apiUrl}: ${cause instanceof Error ? cause.message : String(cause)}`,
          EXIT_CODES.failure,
          [],
          { cause: error },
        );
      }
      if (response.status >= 300) throw errorOf(method, path, response.status, response.body);
      const parsed = schema.safeParse(response.body);
      if (!parsed.success) {
        throw new CliError(
          `${method} ${path} answered what its contract does not allow`,
          EXIT_CODES.failure,
          formatIssues(parsed.error).map((issue) => `${issue.path}: ${issue.message}`),
        );
      }
      return parsed.data;
    },
  };
}

/**
 * Every item of a paged listing (`items` + `nextToken`), page after page, up to `max` items
 * when given.
 */
export async function listAll<Item>(
  page: (query: { limit: number; nextToken?: string }) => Promise<{ items: Item[]; nextToken?: string }>,
  max?: number,
): Promise<Item[]> {
  const items: Item[] = [];
  let nextToken: string | undefined;
  do {
    const wanted = max === undefined ? 1000 : Math.min(1000, max - items.length);
    const answer = await page({ limit: wanted, ...(nextToken === undefined ? {} : { nextToken }) });
    items.push(...answer.items);
    nextToken = answer.nextToken;
  } while (nextToken !== undefined && (max === undefined || items.length < max));
  return max === undefined ? items : items.slice(0, max);
}
