/**
 * A loopback HTTP proxy in front of the emulator that lets a test make it behave as other
 * AWS-compatible endpoints do: answer a call with an error of its own, or rewrite a response
 * (e.g. a table still CREATING, as LocalStack reports it for a while). Calls are identified by
 * their JSON protocol target (`X-Amz-Target`, e.g. `DynamoDBStreams_20120810.GetRecords`).
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxiedCall {
  /** `X-Amz-Target` without the service prefix, e.g. `GetRecords`; undefined for other protocols. */
  operation: string | undefined;
  /** The JSON body of a JSON-protocol call; undefined otherwise. */
  input: Record<string, unknown> | undefined;
}

export interface FaultRules {
  /** An error to answer instead of forwarding, as AWS's JSON protocol shapes it. */
  refuse?(call: ProxiedCall): { status: number; type: string; message: string } | undefined;
  /** A replacement for the emulator's JSON response. */
  rewrite?(call: ProxiedCall, output: Record<string, unknown>): Record<string, unknown>;
}

export interface FaultProxy {
  url: string;
  stop(): Promise<void>;
}

function bodyOf(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.once('end', () => resolve(Buffer.concat(chunks)));
    request.once('error', reject);
  });
}

function callOf(request: IncomingMessage, body: Buffer): ProxiedCall {
  const target = request.headers['x-amz-target'];
  const operation = typeof target === 'string' ? target.split('.').pop() : undefined;
  let input: Record<string, unknown> | undefined;
  if (operation !== undefined && body.length > 0) {
    input = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
  }
  return { operation, input };
}

/** Hop-by-hop and length headers are the proxy's own business. */
const NOT_FORWARDED = new Set(['connection', 'content-length', 'transfer-encoding', 'keep-alive']);

/**
 * Forwards the request with its Host header, so the emulator builds URLs (queue URLs) that
 * name the proxy, as clients configured with the proxy's endpoint expect.
 */
function forward(
  upstream: URL,
  request: IncomingMessage,
  body: Buffer,
): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (!NOT_FORWARDED.has(name) && typeof value === 'string') headers[name] = value;
  }
  headers['content-length'] = String(body.length);
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: request.method, path: request.url, headers },
      (incoming) => {
        void bodyOf(incoming).then((answer) => {
          const answerHeaders: Record<string, string> = {};
          for (const [name, value] of Object.entries(incoming.headers)) {
            if (!NOT_FORWARDED.has(name) && typeof value === 'string') answerHeaders[name] = value;
          }
          resolve({ status: incoming.statusCode ?? 502, headers: answerHeaders, body: answer });
        }, reject);
      },
    );
    outgoing.once('error', reject);
    outgoing.end(body);
  });
}

export async function startFaultProxy(upstream: string, rules: FaultRules): Promise<FaultProxy> {
  const upstreamUrl = new URL(upstream);
  const server: Server = createServer((request, response) => {
    void (async () => {
      const body = await bodyOf(request);
      const call = callOf(request, body);
      const refusal = rules.refuse?.(call);
      if (refusal !== undefined) {
        response.writeHead(refusal.status, { 'content-type': 'application/x-amz-json-1.0' });
        response.end(JSON.stringify({ __type: refusal.type, message: refusal.message }));
        return;
      }
      const forwarded = await forward(upstreamUrl, request, body);
      let answer = forwarded.body;
      const ok = forwarded.status >= 200 && forwarded.status < 300;
      if (rules.rewrite && call.operation !== undefined && ok && answer.length > 0) {
        const output = JSON.parse(answer.toString('utf8')) as Record<string, unknown>;
        answer = Buffer.from(JSON.stringify(rules.rewrite(call, output)));
      }
      response.writeHead(forwarded.status, { ...forwarded.headers, 'content-length': String(answer.length) });
      response.end(answer);
    })().catch((error: unknown) => {
      response.writeHead(502, { 'content-type': 'text/plain' });
      response.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
