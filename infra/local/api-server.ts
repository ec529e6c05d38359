/**
 * The local API Gateway REST API: a node:http server on loopback whose routes are the
 * template's methods, each a Lambda proxy integration. AWS_IAM methods require a valid SigV4
 * signature (service execute-api) from a key of the credentials table. Unknown routes and
 * refused signatures get API Gateway's 403 responses; bodies are limited to 10 MB; an
 * integration that takes longer than 29 s gets 504, a failed or malformed one 502.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RouteTable } from './api-routes.js';
import type { FunctionPool, InvocationOutcome } from './function-pool.js';
import type { RuntimeLog } from './log.js';
import { verifySigV4 } from './sigv4.js';
import type { RouteWiring } from './types.js';

const HOST = '127.0.0.1';
const MAX_BODY_BYTES = 10 * 1024 * 1024;
const INTEGRATION_TIMEOUT_MS = 29_000;
const SERVICE = 'execute-api';

export interface LocalApiOptions {
  routes: readonly RouteWiring[];
  /** Path prefix of the stage, as in `https://<api>.execute-api.<region>.amazonaws.com/<stage>/`. */
  stageName: string | null;
  binaryMediaTypes: readonly string[];
  apiId: string;
  region: string;
  accountId: string;
  partition: string;
  /** Access key id → secret access key. */
  credentials: ReadonlyMap<string, string>;
  port: number;
  pool: FunctionPool;
  log: RuntimeLog;
}

export interface LocalApiStats {
  requests: number;
  refused: number;
  notFound: number;
  integrationErrors: number;
}

interface ApiResponse {
  statusCode: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
}

function errorResponse(
  statusCode: number,
  errorType: string,
  message: string,
  requestId: string,
): ApiResponse {
  return {
    statusCode,
    headers: {
      'content-type': 'application/json',
      'x-amzn-errortype': errorType,
      'x-amzn-requestid': requestId,
    },
    body: Buffer.from(JSON.stringify({ message })),
  };
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(request.headers['content-length'] ?? 0);
    if (declared > MAX_BODY_BYTES) {
      reject(new BodyTooLargeError());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new BodyTooLargeError());
        request.resume();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function queryParameters(query: string): Record<string, string[]> {
  const parameters: Record<string, string[]> = {};
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    const key = decodeSegment((equals < 0 ? pair : pair.slice(0, equals)).replaceAll('+', ' '));
    const value = equals < 0 ? '' : decodeSegment(pair.slice(equals + 1).replaceAll('+', ' '));
    parameters[key] = [...(parameters[key] ?? []), value];
  }
  return parameters;
}

function lastValues(multi: Record<string, string[]>): Record<string, string> {
  return Object.fromEntries(Object.entries(multi).map(([key, values]) => [key, values.at(-1) ?? '']));
}

/** API Gateway's access-log time format: 09/Apr/2015:12:34:56 +0000. */
function requestTime(date: Date): string {
  const month = date.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${pad(date.getUTCDate())}/${month}/${date.getUTCFullYear()}:${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

function isBinary(contentType: string | undefined, binaryMediaTypes: readonly string[]): boolean {
  if (contentType === undefined) return false;
  const mediaType = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return binaryMediaTypes.some((pattern) => {
    const [type, subtype] = pattern.toLowerCase().split('/');
    const [actualType, actualSubtype] = mediaType.split('/');
    return (type === '*' || type === actualType) && (subtype === '*' || subtype === actualSubtype);
  });
}

/** API Gateway REST refuses a proxy result with any other field ("Malformed Lambda proxy response"). */
const PROXY_RESULT_KEYS = new Set(['statusCode', 'headers', 'multiValueHeaders', 'body', 'isBase64Encoded']);

/** The HTTP response for a Lambda proxy result, or undefined when the result is malformed. */
export function proxyResponse(result: unknown, requestId: string): ApiResponse | undefined {
  if (typeof result !== 'object' || result === null || Array.isArray(result)) return undefined;
  const fields = result as Record<string, unknown>;
  if (Object.keys(fields).some((key) => !PROXY_RESULT_KEYS.has(key))) return undefined;
  const { statusCode, headers = {}, multiValueHeaders = {}, body, isBase64Encoded = false } = fields;
  if (typeof statusCode !== 'number' || !Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599)
    return undefined;
  if (body !== undefined && body !== null && typeof body !== 'string') return undefined;
  if (typeof isBase64Encoded !== 'boolean') return undefined;
  if (
    typeof headers !== 'object' ||
    headers === null ||
    typeof multiValueHeaders !== 'object' ||
    multiValueHeaders === null
  ) {
    return undefined;
  }
  const merged: Record<string, string | string[]> = {};
  for (const [name, values] of Object.entries(multiValueHeaders)) {
    if (!Array.isArray(values)) return undefined;
    merged[name.toLowerCase()] = values.map(String);
  }
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value === 'object' && value !== null) return undefined;
    merged[name.toLowerCase()] = String(value);
  }
  merged['content-type'] ??= 'application/json';
  merged['x-amzn-requestid'] = requestId;
  const text = typeof body === 'string' ? body : '';
  return { statusCode, headers: merged, body: Buffer.from(text, isBase64Encoded ? 'base64' : 'utf8') };
}

export class LocalApi {
  readonly stats: LocalApiStats = { requests: 0, refused: 0, notFound: 0, integrationErrors: 0 };
  readonly #options: LocalApiOptions;
  readonly #table: RouteTable;
  readonly #server: Server;
  #url: string | undefined;

  constructor(options: LocalApiOptions) {
    this.#options = options;
    this.#table = new RouteTable(options.routes);
    this.#server = createServer((request, response) => {
      void this.#handle(request, response);
    });
  }

  get routes(): readonly RouteWiring[] {
    return this.#table.routes;
  }

  /** Base URL of the stage, ending with '/'. */
  get url(): string {
    if (this.#url === undefined) throw new Error('the local API is not listening');
    return this.#url;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#options.port, HOST, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    const { port } = this.#server.address() as AddressInfo;
    const stage = this.#options.stageName;
    this.#url = `http://${HOST}:${port}/${stage === null ? '' : `${stage}/`}`;
  }

  async stop(): Promise<void> {
    if (!this.#server.listening) return;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    let result: ApiResponse;
    try {
      result = await this.#respond(request, requestId);
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        result = errorResponse(
          413,
          'RequestEntityTooLargeException',
          `HTTP content length exceeded ${MAX_BODY_BYTES} bytes.`,
          requestId,
        );
        response.setHeader('connection', 'close');
      } else {
        this.#options.log({
          level: 'error',
          message: 'local API request failed',
          requestId,
          error: String(error),
        });
        result = errorResponse(500, 'InternalServerErrorException', 'Internal server error', requestId);
      }
    }
    response.writeHead(result.statusCode, result.headers);
    response.end(request.method === 'HEAD' ? undefined : result.body);
  }

  async #respond(request: IncomingMessage, requestId: string): Promise<ApiResponse> {
    this.stats.requests += 1;
    const body = await readBody(request);
    const method = request.method ?? 'GET';
    const rawUrl = request.url ?? '/';
    const questionMark = rawUrl.indexOf('?');
    const rawPath = questionMark < 0 ? rawUrl : rawUrl.slice(0, questionMark);
    const rawQuery = questionMark < 0 ? '' : rawUrl.slice(questionMark + 1);
    const segments = rawPath
      .split('/')
      .filter((segment) => segment !== '')
      .map(decodeSegment);
    const stage = this.#options.stageName;
    if (stage !== null && segments.shift() !== stage) return this.#notFound(requestId);
    const lookup = this.#table.lookup(method, segments);
    if (lookup.kind === 'not-found') return this.#notFound(requestId);
    const { route, pathParameters } = lookup.match;

    const multiValueHeaders: Record<string, string[]> = {};
    const lowerCaseHeaders: Record<string, string> = {};
    for (let index = 0; index + 1 < request.rawHeaders.length; index += 2) {
      const name = request.rawHeaders[index] ?? '';
      const value = request.rawHeaders[index + 1] ?? '';
      multiValueHeaders[name] = [...(multiValueHeaders[name] ?? []), value];
      const lower = name.toLowerCase();
      lowerCaseHeaders[lower] =
        lowerCaseHeaders[lower] === undefined ? value : `${lowerCaseHeaders[lower]},${value}`;
    }

    let accessKeyId: string | null = null;
    if (route.authorization === 'AWS_IAM') {
      const verdict = await verifySigV4(
        { method, path: rawPath, query: rawQuery, headers: lowerCaseHeaders, body },
        {
          region: this.#options.region,
          service: SERVICE,
          credentials: this.#options.credentials,
          now: new Date(),
        },
      );
      if (!verdict.ok) {
        this.stats.refused += 1;
        return errorResponse(403, verdict.errorType, verdict.message, requestId);
      }
      accessKeyId = verdict.accessKeyId;
    }

    // API Gateway tells the integration how the client connected; the local server is plain HTTP.
    multiValueHeaders['X-Forwarded-Proto'] = ['http'];
    const now = new Date();
    const multiValueQuery = queryParameters(rawQuery);
    const hasQuery = Object.keys(multiValueQuery).length > 0;
    const binary = isBinary(lowerCaseHeaders['content-type'], this.#options.binaryMediaTypes);
    const { accountId, partition } = this.#options;
    const resourcePath = `/${segments.join('/')}`;
    const event = {
      resource: route.path,
      path: resourcePath,
      httpMethod: method,
      headers: lastValues(multiValueHeaders),
      multiValueHeaders,
      queryStringParameters: hasQuery ? lastValues(multiValueQuery) : null,
      multiValueQueryStringParameters: hasQuery ? multiValueQuery : null,
      pathParameters: Object.keys(pathParameters).length > 0 ? pathParameters : null,
      stageVariables: null,
      requestContext: {
        accountId,
        apiId: this.#options.apiId,
        resourcePath: route.path,
        httpMethod: method,
        path: decodeSegment(rawPath),
        stage: stage ?? '$default',
        protocol: `HTTP/${request.httpVersion}`,
        requestId,
        extendedRequestId: requestId,
        requestTime: requestTime(now),
        requestTimeEpoch: now.getTime(),
        domainName: lowerCaseHeaders.host ?? HOST,
        domainPrefix: (lowerCaseHeaders.host ?? HOST).split('.')[0],
        identity: {
          accessKey: accessKeyId,
          accountId: accessKeyId === null ? null : accountId,
          caller: accessKeyId,
          user: accessKeyId,
          userArn: accessKeyId === null ? null : `arn:${partition}:iam::${accountId}:user/${accessKeyId}`,
          sourceIp: request.socket.remoteAddress ?? HOST,
          userAgent: lowerCaseHeaders['user-agent'] ?? null,
          apiKey: null,
          apiKeyId: null,
          principalOrgId: null,
          cognitoIdentityPoolId: null,
          cognitoIdentityId: null,
          cognitoAuthenticationType: null,
          cognitoAuthenticationProvider: null,
        },
        authorizer: null,
      },
      body: body.length === 0 ? null : body.toString(binary ? 'base64' : 'utf8'),
      isBase64Encoded: binary && body.length > 0,
    };
    return this.#integrate(route, event, requestId);
  }

  #notFound(requestId: string): ApiResponse {
    this.stats.notFound += 1;
    return errorResponse(
      403,
      'MissingAuthenticationTokenException',
      'Missing Authentication Token',
      requestId,
    );
  }

  async #integrate(route: RouteWiring, event: unknown, requestId: string): Promise<ApiResponse> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), INTEGRATION_TIMEOUT_MS);
    });
    const outcome: InvocationOutcome | 'timeout' = await Promise.race([
      this.#options.pool.invoke(route.function, event),
      timedOut,
    ]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.stats.integrationErrors += 1;
      return errorResponse(504, 'InternalServerErrorException', 'Endpoint request timed out', requestId);
    }
    const response = outcome.ok ? proxyResponse(outcome.result, requestId) : undefined;
    if (response === undefined) {
      this.stats.integrationErrors += 1;
      this.#options.log({
        level: 'warn',
        message: outcome.ok ? 'malformed Lambda proxy response' : 'API function failed',
        route: `${route.method} ${route.path}`,
        requestId: outcome.requestId,
        ...(!outcome.ok && { error: outcome.error }),
      });
      return errorResponse(502, 'InternalServerErrorException', 'Internal server error', requestId);
    }
    return response;
  }
}
