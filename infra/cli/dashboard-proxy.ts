/**
 * `wms dashboard`: a signing proxy on loopback. The dashboard is served by the API on
 * operator-only IAM routes (design §11: no anonymous access in any mode); a browser cannot
 * sign with SigV4, so this proxy forwards each of its requests to the API signed with the
 * operator's credentials. It is read-only — GET and HEAD — and answers only requests
 * addressed to its own loopback host, so another web page cannot use the operator's
 * credentials through it to change anything or read across origins (DNS rebinding).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { SigningCredentials } from '../../shared/aws/index.js';

const LOOPBACK = '127.0.0.1';
const UPSTREAM_TIMEOUT_MS = 30_000;
/** Headers of the API's answer the browser gets; the rest (API Gateway's own) stay behind. */
const FORWARDED_HEADERS = [
  'content-type',
  'cache-control',
  'content-security-policy',
  'x-content-type-options',
] as const;

export interface DashboardProxyOptions {
  apiUrl: string;
  region: string;
  /** 0: any free port. */
  port: number;
  credentials?: SigningCredentials;
}

export interface DashboardProxy {
  /** `http://127.0.0.1:<port>/`. */
  url: string;
  stop(): Promise<void>;
}

function refuse(
  response: ServerResponse,
  status: number,
  message: string,
  headers: Record<string, string> = {},
) {
  response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
  response.end(`${message}\n`);
}

export async function startDashboardProxy(options: DashboardProxyOptions): Promise<DashboardProxy> {
  const base = new URL(options.apiUrl.endsWith('/') ? options.apiUrl : `${options.apiUrl}/`);
  const signer = new SignatureV4({
    service: 'execute-api',
    region: options.region,
    credentials: options.credentials ?? fromNodeProviderChain(),
    sha256: Hash.bind(null, 'sha256'),
  });
  let allowedHosts = new Set<string>();

  async function forward(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const method = request.method ?? 'GET';
    if (!allowedHosts.has(request.headers.host ?? '')) {
      refuse(response, 403, 'this proxy answers only requests addressed to it on loopback');
      return;
    }
    if (method !== 'GET' && method !== 'HEAD') {
      refuse(response, 405, 'the dashboard proxy is read-only', { allow: 'GET, HEAD' });
      return;
    }
    const local = new URL(request.url ?? '/', 'http://proxy.invalid');
    if (local.pathname === '/') {
      response.writeHead(302, { location: '/dashboard' });
      response.end();
      return;
    }
    const target = new URL(local.pathname.replace(/^\/+/, ''), base);
    const query = Object.fromEntries(local.searchParams);
    for (const [key, value] of Object.entries(query)) target.searchParams.set(key, value);
    const signed = await signer.sign(
      new HttpRequest({
        method: 'GET',
        protocol: target.protocol,
        hostname: target.hostname,
        ...(target.port && { port: Number(target.port) }),
        path: target.pathname,
        query,
        headers: { host: target.host, accept: request.headers.accept ?? '*/*' },
      }),
    );
    const upstream = await fetch(target, {
      method: 'GET',
      headers: signed.headers,
      signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS),
    });
    const body = Buffer.from(await upstream.arrayBuffer());
    const headers: Record<string, string> = {};
    for (const name of FORWARDED_HEADERS) {
      const value = upstream.headers.get(name);
      if (value !== null) headers[name] = value;
    }
    response.writeHead(upstream.status, headers);
    response.end(method === 'HEAD' ? undefined : body);
  }

  const server = createServer((request, response) => {
    forward(request, response).catch((error: unknown) => {
      const cause = error instanceof Error ? (error.cause ?? error) : error;
      if (!response.headersSent) {
        refuse(
          response,
          502,
          `the API did not answer: ${cause instanceof Error ? cause.message : String(cause)}`,
        );
      } else {
        response.destroy();
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, LOOPBACK, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  allowedHosts = new Set([`${LOOPBACK}:${port}`, `localhost:${port}`]);
  return {
    url: `http://${LOOPBACK}:${port}/`,
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
