/**
 * The counting proxy's thread: an HTTP server that forwards every request to the emulator
 * unchanged (streaming both bodies, so signatures and checksums hold) and counts it by AWS
 * service and operation. The owner asks for the counts by message.
 */
import { Agent, createServer, request } from 'node:http';
import { pipeline } from 'node:stream';
import { parentPort, workerData } from 'node:worker_threads';
import { CallCounter } from '../../../shared/aws/index.js';
import { awsOperationOf } from './aws-operation.js';
import type { ProxyReply, ProxyRequest, ProxySettings } from './counting-proxy-protocol.js';

const port = parentPort;
if (port === null) throw new Error('counting-proxy-worker.ts runs only as a worker thread');
const settings = workerData as ProxySettings;
const target = new URL(settings.target);
const counter = new CallCounter();
/** Milliseconds from request to the end of the emulator's answer, by `service:operation`. */
const answerMs = new Map<string, number>();
// Connections to the emulator are kept and reused, as the SDK's own agent does.
const agent = new Agent({ keepAlive: true, maxSockets: 256 });

const server = createServer((incoming, outgoing) => {
  const { service, operation } = awsOperationOf({
    method: incoming.method ?? 'GET',
    url: incoming.url ?? '/',
    headers: incoming.headers,
  });
  counter.record(service, operation);
  const started = performance.now();
  const key = `${service}:${operation}`;
  const forwarded = request(
    {
      host: target.hostname,
      port: target.port,
      method: incoming.method,
      path: incoming.url,
      headers: incoming.headers,
      agent,
    },
    (answer) => {
      const answered = () => answerMs.set(key, (answerMs.get(key) ?? 0) + performance.now() - started);
      // The client may have gone meanwhile (an aborted long poll): the answer has nowhere to go.
      if (outgoing.destroyed) {
        answer.resume().on('end', answered);
        return;
      }
      outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
      pipeline(answer, outgoing, answered);
    },
  );
  // A client that goes before its answer came ends the emulator request too.
  outgoing.on('close', () => {
    if (!outgoing.writableFinished) forwarded.destroy();
  });
  forwarded.on('error', (error) => {
    if (outgoing.destroyed) return;
    if (outgoing.headersSent) outgoing.destroy(error);
    else outgoing.writeHead(502, { 'content-type': 'text/plain' }).end(`proxy: ${error.message}`);
  });
  pipeline(incoming, forwarded, (error) => {
    if (error) forwarded.destroy(error);
  });
});
server.keepAliveTimeout = 60_000;

server.listen(0, settings.host, () => {
  const address = server.address();
  const listening = typeof address === 'object' && address !== null ? address.port : 0;
  port.postMessage({ type: 'listening', port: listening } satisfies ProxyReply);
});

port.on('message', (message: ProxyRequest) => {
  if (message.type === 'snapshot') {
    port.postMessage({
      type: 'snapshot',
      id: message.id,
      calls: counter.snapshot(),
      answerMs: Object.fromEntries(answerMs),
    } satisfies ProxyReply);
    return;
  }
  server.close();
  server.closeAllConnections();
  agent.destroy();
  port.close();
});
