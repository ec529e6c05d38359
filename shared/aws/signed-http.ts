import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

export type SigningCredentials = ConstructorParameters<typeof SignatureV4>[0]['credentials'];

export interface SignedHttpOptions {
  /** Base URL of the API, e.g. an API Gateway stage URL. */
  baseUrl: string;
  region: string;
  /** The SDK's default provider chain when absent. */
  credentials?: SigningCredentials;
  /** Per-request limit; the caller's signal can end a request sooner. */
  timeoutMs?: number;
}

export interface SignedResponse {
  status: number;
  /** The JSON body, or the raw text when the body is not JSON (a proxy's error page). */
  body: unknown;
}

export type SignedHttp = (
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  options?: { body?: unknown; query?: Record<string, string | number | undefined>; signal?: AbortSignal },
) => Promise<SignedResponse>;

/**
 * JSON over HTTP with every request signed by SigV4 for `execute-api`: what API Gateway's IAM
 * authorization (and the embedded API's equivalent check) requires. Used by pilots, the CLI
 * and the tests alike.
 */
export function createSignedHttp(options: SignedHttpOptions): SignedHttp {
  const base = new URL(options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`);
  const signer = new SignatureV4({
    service: 'execute-api',
    region: options.region,
    credentials: options.credentials ?? fromNodeProviderChain(),
    sha256: Hash.bind(null, 'sha256'),
  });
  const timeoutMs = options.timeoutMs ?? 10_000;

  return async (method, path, request = {}) => {
    const url = new URL(path.replace(/^\/+/, ''), base);
    const query: Record<string, string> = {};
    for (const [key, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined) {
        query[key] = String(value);
        url.searchParams.set(key, String(value));
      }
    }
    const payload = request.body === undefined ? undefined : JSON.stringify(request.body);
    const signed = await signer.sign(
      new HttpRequest({
        method,
        protocol: url.protocol,
        hostname: url.hostname,
        ...(url.port && { port: Number(url.port) }),
        path: url.pathname,
        query,
        headers: {
          host: url.host,
          ...(payload !== undefined && { 'content-type': 'application/json' }),
        },
        ...(payload !== undefined && { body: payload }),
      }),
    );
    const timeout = AbortSignal.timeout(timeoutMs);
    const response = await fetch(url, {
      method,
      headers: signed.headers,
      ...(payload !== undefined && { body: payload }),
      signal: request.signal ? AbortSignal.any([request.signal, timeout]) : timeout,
    });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = text === '' ? null : JSON.parse(text);
    } catch {
      // Not JSON: the status decides, the text is kept for messages.
    }
    return { status: response.status, body };
  };
}
