/**
 * The pilot's three API routes, served for tests of the pilot process on its own: SigV4 is
 * checked with the embedded API's verifier, bodies with the contract's schemas, claims are
 * first-come per job attempt, and registration creates the pilot's control queue in the
 * emulator. It keeps what the pilot sent for the test to inspect, and can refuse or fail
 * calls on demand (fault injection).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateQueueCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { z } from 'zod';
import { ClaimRequest, PilotHeartbeat, PilotRegistration } from '../../events/pilot.js';
import { verifySigV4 } from '../../infra/local/sigv4.js';

export interface PilotRoutesOptions {
  sqs: SQSClient;
  /** Prefix of the control queues this server creates. */
  queuePrefix: string;
  heartbeatIntervalSeconds: number;
  region: string;
  credentials: ReadonlyMap<string, string>;
}

export interface RecordedClaim {
  jobId: string;
  pilotId: string;
  attempt: number;
  status: number;
}

export class PilotRoutesServer {
  readonly heartbeats: PilotHeartbeat[] = [];
  readonly claims: RecordedClaim[] = [];
  readonly refusedSignatures: string[] = [];
  /** Pilots the "watchdog" has declared lost: their heartbeats get 409. */
  readonly lostPilots = new Set<string>();
  /** Jobs whose claims answer 503, as an overloaded control plane would. */
  readonly unavailableJobs = new Set<string>();
  readonly #winners = new Map<string, string>();
  readonly #server = createServer((request, response) => void this.#handle(request, response));
  url = '';

  constructor(private readonly options: PilotRoutesOptions) {}

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(request.url ?? '/', this.url);
    const headers = Object.fromEntries(
      Object.entries(request.headers).map(([name, value]) => [
        name,
        Array.isArray(value) ? value.join(',') : (value ?? ''),
      ]),
    );
    const verdict = await verifySigV4(
      { method: request.method ?? 'GET', path: url.pathname, query: url.search.slice(1), headers, body },
      {
        region: this.options.region,
        service: 'execute-api',
        credentials: this.options.credentials,
        now: new Date(),
      },
    );
    if (!verdict.ok) {
      this.refusedSignatures.push(verdict.message);
      send(response, 403, { error: { code: verdict.errorType, message: verdict.message } });
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      send(response, 400, { error: { code: 'BAD_REQUEST', message: 'body is not JSON' } });
      return;
    }
    const segments = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (request.method === 'POST' && segments.length === 1 && segments[0] === 'pilots') {
      return this.#register(json, response);
    }
    if (
      request.method === 'POST' &&
      segments.length === 3 &&
      segments[0] === 'pilots' &&
      segments[2] === 'heartbeat'
    ) {
      return this.#heartbeat(segments[1]!, json, response);
    }
    if (
      request.method === 'POST' &&
      segments.length === 3 &&
      segments[0] === 'jobs' &&
      segments[2] === 'claim'
    ) {
      return this.#claim(segments[1]!, json, response);
    }
    send(response, 404, {
      error: { code: 'NOT_FOUND', message: `no route ${request.method} ${url.pathname}` },
    });
  }

  async #register(json: unknown, response: ServerResponse): Promise<void> {
    const registration = parse(PilotRegistration, json, response);
    if (!registration) return;
    const { QueueUrl } = await this.options.sqs.send(
      new CreateQueueCommand({
        QueueName: `${this.options.queuePrefix}-pilot-${registration.pilotId.replace(/[^A-Za-z0-9_-]/g, '_')}`,
      }),
    );
    send(response, 200, {
      pilotId: registration.pilotId,
      controlQueueUrl: QueueUrl,
      heartbeatIntervalSeconds: this.options.heartbeatIntervalSeconds,
    });
  }

  #heartbeat(pilotId: string, json: unknown, response: ServerResponse): void {
    const heartbeat = parse(PilotHeartbeat, json, response);
    if (!heartbeat) return;
    this.heartbeats.push(heartbeat);
    if (this.lostPilots.has(pilotId)) {
      send(response, 409, {
        error: { code: 'PILOT_LOST', message: `pilot ${pilotId} was declared LOST` },
      });
      return;
    }
    send(response, 200, { pilotId, state: heartbeat.state });
  }

  #claim(jobId: string, json: unknown, response: ServerResponse): void {
    const claim = parse(ClaimRequest, json, response);
    if (!claim) return;
    const record = (status: number) =>
      this.claims.push({ jobId, pilotId: claim.pilotId, attempt: claim.attempt, status });
    if (this.unavailableJobs.has(jobId)) {
      record(503);
      send(response, 503, { error: { code: 'UNAVAILABLE', message: 'try again' } });
      return;
    }
    const key = `${jobId}:${claim.attempt}`;
    if (this.#winners.has(key)) {
      record(409);
      send(response, 409, {
        error: { code: 'ALREADY_CLAIMED', message: `job ${jobId} is already claimed` },
      });
      return;
    }
    this.#winners.set(key, claim.pilotId);
    record(200);
    send(response, 200, { jobId, attempt: claim.attempt, claimToken: randomBytes(16).toString('hex') });
  }
}

function parse<Schema extends z.ZodType>(
  schema: Schema,
  json: unknown,
  response: ServerResponse,
): z.output<Schema> | null {
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  send(response, 400, { error: { code: 'VALIDATION_ERROR', message: parsed.error.message } });
  return null;
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
