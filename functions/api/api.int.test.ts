import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { PilotList } from '../../events/api.js';
import { SCHEMA_CATALOG, type SchemaName } from '../../events/catalog.js';
import { contractOf } from '../../events/openapi.js';
import { ROUTES } from '../../events/routes.js';
import { type AwsClients, createAwsClients } from '../../shared/aws/index.js';
import { datasetUidFor } from '../../shared/ids/index.js';
import { createRepositories, type Repositories, type TableNames } from '../../shared/repositories/index.js';
import { JobGenerationMessage } from '../../shared/services/index.js';
import { eventually, fileRef, newFile, taskSpec } from '../../test/support/index.js';
import { handleApiRequest } from './api.js';
import { MAX_BODY_BYTES } from './request.js';
import {
  apiDepsOf,
  createFunctionResources,
  drainQueue,
  type FunctionResources,
  lambdaContext,
  type ProxyRequest,
  proxyEvent,
} from './test-support.js';

type Handler = (event: APIGatewayProxyEvent, context: unknown) => Promise<APIGatewayProxyResult>;

let clients: AwsClients;
let resources: FunctionResources;
let repos: Repositories;
let handler: Handler;
let counter = 0;

beforeAll(async () => {
  clients = createAwsClients();
  resources = await createFunctionResources('api', clients);
  repos = createRepositories({ doc: clients.doc, tables: resources.tables });
  Object.assign(process.env, resources.env, { POWERTOOLS_LOG_LEVEL: 'SILENT' });
  ({ handler } = (await import('./index.js')) as { handler: Handler });
});

interface Answer {
  status: number;
  headers: Record<string, unknown>;
  body: unknown;
}

/** Invokes the function's handler as API Gateway would, and checks the answer against the contract. */
async function call(request: ProxyRequest): Promise<Answer> {
  const result = await handler(proxyEvent(request), lambdaContext('api'));
  const body: unknown = JSON.parse(result.body);
  expect(result.headers?.['content-type']).toBe('application/json');
  const route = ROUTES.find(
    (candidate) =>
      candidate.method === request.method && candidate.path === (request.resource ?? request.path),
  );
  if (result.statusCode >= 400) {
    expect(SCHEMA_CATALOG['api.error-response'].schema.safeParse(body).success).toBe(true);
  } else if (route !== undefined) {
    const responses = contractOf(route).responses as Record<number, SchemaName | 'openapi'>;
    const schemaName = responses[result.statusCode];
    expect(schemaName, `${route.operationId} answered ${result.statusCode}`).toBeDefined();
    if (schemaName !== 'openapi') expect(SCHEMA_CATALOG[schemaName!].schema.parse(body)).toEqual(body);
  }
  return { status: result.statusCode, headers: result.headers ?? {}, body };
}

function nextIds() {
  counter += 1;
  return {
    taskId: `t-api-${counter}`,
    input: `ds-api-in-${counter}`,
    output: `api-out-${counter}`,
    log: `api-log-${counter}`,
  };
}

function taskBody(ids: ReturnType<typeof nextIds>, overrides: Parameters<typeof taskSpec>[0] = {}) {
  return {
    taskId: ids.taskId,
    ...taskSpec({ inputDatasetUid: ids.input, outputDataset: ids.output, logDataset: ids.log, ...overrides }),
  };
}

async function closedInput(uid: string, names: string[]): Promise<void> {
  await repos.datasets.create({ uid, name: uid, kind: 'input' });
  await repos.files.registerMany(names.map((name) => newFile(uid, name)));
  await repos.datasets.close(uid, { expectedFileCount: names.length });
}

/** A RUNNING task over a closed input, with one READY job per input file. */
async function runningTask(fileCount: number, overrides: Parameters<typeof taskSpec>[0] = {}) {
  const ids = nextIds();
  const names = Array.from({ length: fileCount }, (_, index) => `f${index}.raw`);
  await closedInput(ids.input, names);
  await call({ method: 'POST', path: '/tasks', body: taskBody(ids, overrides) });
  const task = await repos.tasks.get(ids.taskId);
  const jobs = names.map((name) => ({
    jobId: `${ids.taskId}-${name}`.replace('.', '-'),
    inputs: [fileRef(name)],
  }));
  await repos.jobs.createJobs(task, jobs);
  return { ids, jobIds: jobs.map((job) => job.jobId) };
}

function errorOf(answer: Answer) {
  return (
    answer.body as { error: { code: string; message: string; issues?: { path: string; message: string }[] } }
  ).error;
}

describe('tasks', () => {
  it('registers a task (201), answers a repeat with 200, and shows it with its progress and files', async () => {
    // Prepare
    const ids = nextIds();
    await closedInput(ids.input, ['a.raw', 'b.raw']);

    // Act
    const created = await call({ method: 'POST', path: '/tasks', body: taskBody(ids) });
    const repeated = await call({ method: 'POST', path: '/tasks', body: taskBody(ids) });
    const view = await call({ method: 'GET', path: `/tasks/${ids.taskId}`, resource: '/tasks/{taskId}' });

    // Assess
    expect(created).toMatchObject({
      status: 201,
      body: { taskId: ids.taskId, state: 'RUNNING', created: true },
    });
    expect(repeated).toMatchObject({ status: 200, body: { taskId: ids.taskId, created: false } });
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({
      taskId: ids.taskId,
      state: 'RUNNING',
      progress: {
        jobsTotal: 0,
        percentDone: 0,
        files: { input: { count: 2 }, output: { count: 0, bytes: 0 }, log: { count: 0, bytes: 0 } },
      },
    });
    const requests = (await drainQueue(clients.sqs, resources.queues.jobGeneration)).map((message) =>
      JobGenerationMessage.parse(JSON.parse(message.Body!)),
    );
    expect(requests).toContainEqual({ taskId: ids.taskId });
  });

  it('refuses another specification under the same id with 409', async () => {
    const ids = nextIds();
    await call({ method: 'POST', path: '/tasks', body: taskBody(ids) });
    const clash = await call({ method: 'POST', path: '/tasks', body: taskBody(ids, { device: 'GPU' }) });
    expect(clash.status).toBe(409);
    expect(errorOf(clash)).toMatchObject({
      code: 'TASK_SPEC_CONFLICT',
      message: expect.stringContaining('device'),
    });
  });

  it('lists tasks by state across pages', async () => {
    const registered = [nextIds(), nextIds(), nextIds()];
    for (const ids of registered) await call({ method: 'POST', path: '/tasks', body: taskBody(ids) });
    const seen: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await call({
        method: 'GET',
        path: '/tasks',
        query: { state: 'REGISTERED', limit: '2', ...(nextToken ? { nextToken } : {}) },
      });
      const body = page.body as { items: { taskId: string; state: string }[]; nextToken?: string };
      expect(body.items.length).toBeLessThanOrEqual(2);
      expect(body.items.every((task) => task.state === 'REGISTERED')).toBe(true);
      seen.push(...body.items.map((task) => task.taskId));
      nextToken = body.nextToken;
    } while (nextToken !== undefined);
    expect(seen).toEqual(expect.arrayContaining(registered.map((ids) => ids.taskId)));
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('lists every task when no state is given', async () => {
    const { ids } = await runningTask(1);
    const answer = await call({ method: 'GET', path: '/tasks', query: { limit: '1000' } });
    const items = (answer.body as { items: { taskId: string; state: string }[] }).items;
    expect(items).toContainEqual(expect.objectContaining({ taskId: ids.taskId, state: 'RUNNING' }));
    expect(new Set(items.map((task) => task.state)).size).toBeGreaterThan(1);
  });

  it('cancels a task and changes its rank, answering with its summary', async () => {
    const { ids } = await runningTask(3);
    const ranked = await call({
      method: 'PUT',
      path: `/tasks/${ids.taskId}/rank`,
      resource: '/tasks/{taskId}/rank',
      body: { rank: 42 },
    });
    expect(ranked).toMatchObject({ status: 200, body: { rank: 42, baseRank: 42 } });
    const cancelled = await call({
      method: 'POST',
      path: `/tasks/${ids.taskId}/cancel`,
      resource: '/tasks/{taskId}/cancel',
      body: { reason: 'superseded by pass 2' },
    });
    expect(cancelled).toMatchObject({
      status: 200,
      body: {
        state: 'CANCELLED',
        progress: { jobsTotal: 3, percentDone: 100, jobs: { READY: 0, CANCELLED: 3 } },
      },
    });
    const rankAfter = await call({
      method: 'PUT',
      path: `/tasks/${ids.taskId}/rank`,
      resource: '/tasks/{taskId}/rank',
      body: { rank: 2 },
    });
    expect(rankAfter.status).toBe(409);
  });

  it('lists a task’s jobs by state and its files by kind', async () => {
    const { ids, jobIds } = await runningTask(3);
    await repos.jobs.markQueued([{ jobId: jobIds[0]!, taskId: ids.taskId, attempt: 0 }]);
    const ready = await call({
      method: 'GET',
      path: `/tasks/${ids.taskId}/jobs`,
      resource: '/tasks/{taskId}/jobs',
      query: { state: 'READY' },
    });
    const readyIds = (ready.body as { items: { jobId: string }[] }).items.map((job) => job.jobId);
    expect(readyIds.sort()).toEqual(jobIds.slice(1).sort());
    await repos.files.register({
      ...newFile(datasetUidFor(ids.output), 'f0.out'),
      kind: 'output',
      jobId: jobIds[0]!,
    });
    const outputs = await call({
      method: 'GET',
      path: `/tasks/${ids.taskId}/files`,
      resource: '/tasks/{taskId}/files',
      query: { kind: 'output' },
    });
    expect((outputs.body as { items: { name: string }[] }).items.map((file) => file.name)).toEqual([
      'f0.out',
    ]);
    const inputs = await call({
      method: 'GET',
      path: `/tasks/${ids.taskId}/files`,
      resource: '/tasks/{taskId}/files',
      query: { kind: 'input', limit: '2' },
    });
    expect(inputs.body).toMatchObject({
      items: [{ name: 'f0.raw' }, { name: 'f1.raw' }],
      nextToken: expect.any(String),
    });
  });

  it('shows a dataset', async () => {
    const ids = nextIds();
    await call({ method: 'POST', path: '/tasks', body: taskBody(ids) });
    const uid = datasetUidFor(ids.output);
    const answer = await call({
      method: 'GET',
      path: `/datasets/${uid}`,
      resource: '/datasets/{datasetUid}',
    });
    expect(answer).toMatchObject({
      status: 200,
      body: { uid, name: ids.output, kind: 'output', state: 'OPEN' },
    });
  });
});

describe('jobs and pilots', () => {
  it('registers a pilot, takes its heartbeat, lets it claim a queued job once, and shows the job', async () => {
    // Prepare
    const { ids, jobIds } = await runningTask(1);
    const jobId = jobIds[0]!;
    const pilotId = `api-pilot-${counter}`;
    await repos.jobs.markQueued([{ jobId, taskId: ids.taskId, attempt: 0 }]);

    // Act
    const registered = await call({
      method: 'POST',
      path: '/pilots',
      body: { pilotId, host: 'node03', device: 'CPU', slots: 8, version: '1.0.0' },
    });
    const beat = await call({
      method: 'POST',
      path: `/pilots/${pilotId}/heartbeat`,
      resource: '/pilots/{pilotId}/heartbeat',
      body: { pilotId, state: 'IDLE', busySlots: 0, jobs: [], at: new Date().toISOString() },
    });
    const claim = { method: 'POST', path: `/jobs/${jobId}/claim`, resource: '/jobs/{jobId}/claim' };
    const won = await call({ ...claim, body: { pilotId, attempt: 0 } });
    const again = await call({ ...claim, body: { pilotId: 'other-pilot', attempt: 0 } });
    const stale = await call({ ...claim, body: { pilotId, attempt: 3 } });
    const job = await call({ method: 'GET', path: `/jobs/${jobId}`, resource: '/jobs/{jobId}' });
    await call({
      method: 'POST',
      path: `/pilots/${pilotId}/heartbeat`,
      resource: '/pilots/{pilotId}/heartbeat',
      body: {
        pilotId,
        state: 'ACTIVE',
        busySlots: 1,
        jobs: [{ jobId, attempt: 0, phase: 'EXECUTING' }],
        at: new Date().toISOString(),
      },
    });
    const listed = await call({ method: 'GET', path: '/pilots', query: { state: 'ACTIVE', limit: '100' } });

    // Assess
    expect(registered).toMatchObject({
      status: 200,
      body: {
        pilotId,
        controlQueueUrl: expect.stringContaining(resources.controlQueuePrefix),
        heartbeatIntervalSeconds: 30,
      },
    });
    expect(beat).toMatchObject({ status: 200, body: { pilotId, state: 'IDLE' } });
    expect(won).toMatchObject({ status: 200, body: { jobId, attempt: 0, claimToken: expect.any(String) } });
    expect([again.status, errorOf(again).code]).toEqual([409, 'ALREADY_CLAIMED']);
    expect([stale.status, errorOf(stale).code]).toEqual([409, 'STALE_ATTEMPT']);
    expect(job).toMatchObject({ status: 200, body: { jobId, state: 'RUNNING', pilotId } });
    expect(job.body).not.toHaveProperty('claimToken');
    expect(job.body).not.toHaveProperty('waiting');
    // Listed with the jobs it reported counted, not listed.
    const pilot = PilotList.parse(listed.body).items.find((item) => item.pilotId === pilotId);
    expect(pilot).toMatchObject({ state: 'ACTIVE', busySlots: 1, reportedJobCount: 1 });
    expect(pilot).not.toHaveProperty('reportedJobs');
  });

  it('explains why a job waits', async () => {
    // GPU job, and no GPU pilot in this suite's tables
    const { jobIds } = await runningTask(1, { device: 'GPU' });
    const answer = await call({ method: 'GET', path: `/jobs/${jobIds[0]}`, resource: '/jobs/{jobId}' });
    expect(answer.body).toMatchObject({
      state: 'READY',
      waiting: { reason: 'no-pilot-for-device', device: 'GPU', activePilotsForDevice: 0 },
    });
  });

  it('refuses the heartbeat of a LOST pilot with 409 and a heartbeat for another pilot with 400', async () => {
    const pilotId = `api-lost-${counter}`;
    await call({
      method: 'POST',
      path: '/pilots',
      body: { pilotId, host: 'n', device: 'GPU', slots: 1, version: '1' },
    });
    const heartbeat = {
      method: 'POST',
      path: `/pilots/${pilotId}/heartbeat`,
      resource: '/pilots/{pilotId}/heartbeat',
    };
    const beat = { pilotId, state: 'ACTIVE', busySlots: 1, jobs: [], at: new Date().toISOString() };
    const mismatch = await call({ ...heartbeat, body: { ...beat, pilotId: 'someone-else' } });
    expect(mismatch.status).toBe(400);
    expect(errorOf(mismatch).issues).toEqual([{ path: 'pilotId', message: 'must be the pilot of the path' }]);
    await repos.pilots.transition({ pilotId, from: 'ACTIVE', to: 'LOST' });
    const refused = await call({ ...heartbeat, body: beat });
    expect([refused.status, errorOf(refused).code]).toEqual([409, 'PILOT_NOT_LIVE']);
    const listed = await call({ method: 'GET', path: '/pilots', query: { state: 'LOST' } });
    expect((listed.body as { items: { pilotId: string }[] }).items.map((pilot) => pilot.pilotId)).toContain(
      pilotId,
    );
  });

  it('answers an unknown job, task, dataset and pilot with 404', async () => {
    for (const [path, resource] of [
      ['/jobs/j-none', '/jobs/{jobId}'],
      ['/tasks/t-none', '/tasks/{taskId}'],
      ['/datasets/ds-none', '/datasets/{datasetUid}'],
    ] as const) {
      const answer = await call({ method: 'GET', path, resource });
      expect([answer.status, errorOf(answer).code]).toEqual([404, 'NOT_FOUND']);
    }
    const beat = await call({
      method: 'POST',
      path: '/pilots/p-none/heartbeat',
      resource: '/pilots/{pilotId}/heartbeat',
      body: { pilotId: 'p-none', state: 'ACTIVE', busySlots: 0, jobs: [], at: new Date().toISOString() },
    });
    expect(beat.status).toBe(404);
  });
});

describe('pilot identity', () => {
  const PILOT_A_KEY = 'AKIAPILOTNODEA';
  const PILOT_B_KEY = 'AKIAPILOTNODEB';

  function heartbeatOf(pilotId: string, accessKey: string, state: 'ACTIVE' | 'IDLE' | 'EXITED') {
    return call({
      method: 'POST',
      path: `/pilots/${pilotId}/heartbeat`,
      resource: '/pilots/{pilotId}/heartbeat',
      accessKey,
      body: { pilotId, state, busySlots: 0, jobs: [], at: new Date().toISOString() },
    });
  }

  async function registeredByA() {
    const pilotId = `api-owned-${counter++}`;
    const registered = await call({
      method: 'POST',
      path: '/pilots',
      accessKey: PILOT_A_KEY,
      body: { pilotId, host: 'node-a', device: 'CPU', slots: 2, version: '1.0.0' },
    });
    expect(registered.status).toBe(200);
    return { pilotId, controlQueueUrl: (registered.body as { controlQueueUrl: string }).controlQueueUrl };
  }

  it('records the verified caller at registration and refuses another principal registering the id with 403', async () => {
    // Prepare
    const { pilotId } = await registeredByA();

    // Act
    const again = await call({
      method: 'POST',
      path: '/pilots',
      accessKey: PILOT_A_KEY,
      body: { pilotId, host: 'node-a', device: 'CPU', slots: 2, version: '1.0.0' },
    });
    const taken = await call({
      method: 'POST',
      path: '/pilots',
      accessKey: PILOT_B_KEY,
      body: { pilotId, host: 'node-b', device: 'GPU', slots: 1, version: '1.0.0' },
    });

    // Assess
    expect(again.status).toBe(200);
    expect([taken.status, errorOf(taken).code]).toEqual([403, 'PILOT_IDENTITY_MISMATCH']);
    expect(await repos.pilots.get(pilotId)).toMatchObject({
      host: 'node-a',
      device: 'CPU',
      callerId: PILOT_A_KEY,
      callerArn: `arn:aws:iam::123456789012:user/${PILOT_A_KEY}`,
    });
  });

  it("refuses B's heartbeats for A with 403, and A goes on as if nothing happened", async () => {
    // Prepare
    const { pilotId, controlQueueUrl } = await registeredByA();
    const before = await repos.pilots.get(pilotId);

    // Act
    const exited = await heartbeatOf(pilotId, PILOT_B_KEY, 'EXITED');
    const idle = await heartbeatOf(pilotId, PILOT_B_KEY, 'IDLE');
    const after = await repos.pilots.get(pilotId);
    const own = await heartbeatOf(pilotId, PILOT_A_KEY, 'ACTIVE');

    // Assess
    expect([exited.status, errorOf(exited).code]).toEqual([403, 'PILOT_IDENTITY_MISMATCH']);
    expect([idle.status, errorOf(idle).code]).toEqual([403, 'PILOT_IDENTITY_MISMATCH']);
    expect(after).toEqual(before);
    expect(own).toMatchObject({ status: 200, body: { pilotId, state: 'ACTIVE' } });
    // Its control queue is still there, readable only by A.
    const { Attributes } = await clients.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: controlQueueUrl, AttributeNames: ['Policy'] }),
    );
    expect(JSON.parse(Attributes?.Policy ?? '{}').Statement).toEqual([
      expect.objectContaining({
        Effect: 'Deny',
        Condition: { StringNotEquals: { 'aws:userid': PILOT_A_KEY } },
      }),
    ]);
  });

  it("refuses B's claim of a queued job for A with 403 and leaves the job to A", async () => {
    // Prepare
    const { ids, jobIds } = await runningTask(1);
    const jobId = jobIds[0]!;
    await repos.jobs.markQueued([{ jobId, taskId: ids.taskId, attempt: 0 }]);
    const { pilotId } = await registeredByA();
    const claim = { method: 'POST', path: `/jobs/${jobId}/claim`, resource: '/jobs/{jobId}/claim' };

    // Act
    const stolen = await call({
      ...claim,
      accessKey: PILOT_B_KEY,
      body: { pilotId, attempt: 0, taskId: ids.taskId },
    });
    const queued = await repos.jobs.get(jobId);
    const won = await call({
      ...claim,
      accessKey: PILOT_A_KEY,
      body: { pilotId, attempt: 0, requestId: 'claim-a-0000000001' },
    });
    const replayed = await call({
      ...claim,
      accessKey: PILOT_B_KEY,
      body: { pilotId, attempt: 0, taskId: ids.taskId, requestId: 'claim-a-0000000001' },
    });

    // Assess
    expect([stolen.status, errorOf(stolen).code]).toEqual([403, 'PILOT_IDENTITY_MISMATCH']);
    expect(queued).toMatchObject({ state: 'QUEUED', attempt: 0 });
    expect(won).toMatchObject({ status: 200, body: { jobId, claimToken: expect.any(String) } });
    // Even B replaying A's claim gets no token.
    expect([replayed.status, errorOf(replayed).code]).toEqual([403, 'PILOT_IDENTITY_MISMATCH']);
    expect(await repos.jobs.get(jobId)).toMatchObject({ state: 'RUNNING', pilotId });
  });
});

describe('client mistakes', () => {
  it('answers a body sent as text/plain, or with no Content-Type, with 415 and creates nothing', async () => {
    for (const contentType of ['text/plain', null]) {
      const ids = nextIds();
      const answer = await call({ method: 'POST', path: '/tasks', contentType, body: taskBody(ids) });
      expect([answer.status, errorOf(answer).code]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
      expect(await repos.tasks.find(ids.taskId)).toBeUndefined();
    }
    const withCharset = await call({
      method: 'POST',
      path: '/tasks',
      contentType: 'application/json; charset=utf-8',
      body: taskBody(nextIds()),
    });
    expect(withCharset.status).toBe(201);
  });

  it('answers malformed JSON with 400 at the root', async () => {
    const answer = await call({ method: 'POST', path: '/tasks', body: '{"name": "reco",' });
    expect(answer.status).toBe(400);
    expect(errorOf(answer)).toMatchObject({
      code: 'VALIDATION_FAILED',
      issues: [{ path: '(root)', message: expect.stringMatching(/^is not valid JSON/) }],
    });
  });

  it('answers an unknown field with 400 naming it', async () => {
    const answer = await call({
      method: 'POST',
      path: '/tasks',
      body: { ...taskBody(nextIds()), shell: '/bin/sh' },
    });
    expect(answer.status).toBe(400);
    expect(errorOf(answer).issues).toEqual([{ path: 'shell', message: 'unknown field' }]);
  });

  it('names a bad nested field, a bad query parameter and a bad path parameter', async () => {
    const body = { ...taskBody(nextIds()), args: ['--in', 'bad\u0000arg'] };
    const nested = await call({ method: 'POST', path: '/tasks', body });
    expect(errorOf(nested).issues).toEqual([
      { path: 'args[1]', message: 'must not contain control characters' },
    ]);
    const query = await call({ method: 'GET', path: '/tasks', query: { limit: '5000' } });
    expect([query.status, errorOf(query).issues?.[0]?.path]).toEqual([400, 'query.limit']);
    const token = await call({ method: 'GET', path: '/tasks', query: { nextToken: 'bm90LWEtdG9rZW4' } });
    expect([token.status, errorOf(token).issues?.[0]?.path]).toEqual([400, 'query.nextToken']);
    const path = await call({ method: 'GET', path: '/tasks/bad%id', resource: '/tasks/{taskId}' });
    expect([path.status, errorOf(path).issues?.[0]?.path]).toEqual([400, 'path.taskId']);
  });

  it('answers an unknown route with 404 and a known route with another method with 405, as JSON', async () => {
    const unknown = await call({ method: 'GET', path: '/workflows' });
    expect([unknown.status, errorOf(unknown).code]).toEqual([404, 'ROUTE_NOT_FOUND']);
    const method = await call({ method: 'DELETE', path: '/tasks/t-1', resource: '/tasks/{taskId}' });
    expect([method.status, errorOf(method).code, method.headers.allow]).toEqual([
      405,
      'METHOD_NOT_ALLOWED',
      'GET',
    ]);
  });

  it('answers a body over the limit with 413', async () => {
    const answer = await call({ method: 'POST', path: '/tasks', body: 'x'.repeat(MAX_BODY_BYTES + 1) });
    expect([answer.status, errorOf(answer).code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
  });
});

describe('the OpenAPI document', () => {
  it('lists every route, served from the URL the caller used', async () => {
    const answer = await call({ method: 'GET', path: '/openapi.json' });
    const document = answer.body as {
      servers: { url: string }[];
      paths: Record<string, Record<string, unknown>>;
    };
    expect(document.servers).toEqual([{ url: 'https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/v1' }]);
    for (const route of ROUTES) expect(document.paths[route.path]).toHaveProperty(route.method.toLowerCase());
  });
});

describe('handleApiRequest', () => {
  it('answers a server failure with 500 and the request id, without details', async () => {
    // Prepare: tables that do not exist
    const missing = Object.fromEntries(
      Object.keys(resources.tables).map((key) => [key, `missing-${key}`]),
    ) as TableNames;
    const deps = apiDepsOf(clients, resources, missing);

    // Act
    const answer = await handleApiRequest(
      proxyEvent({ method: 'GET', path: '/tasks/t-1', resource: '/tasks/{taskId}' }),
      deps,
      {
        requestId: 'req-500',
        pastDeadline: () => false,
        serverUrl: undefined,
      },
    );

    // Assess
    expect(answer.statusCode).toBe(500);
    expect(JSON.parse(answer.body)).toEqual({
      error: { code: 'INTERNAL_ERROR', message: 'internal error; request id req-500' },
    });
  });

  it('hands a cancellation its deadline stopped to the task-commands consumer through the bus', async () => {
    // Prepare
    const { ids } = await runningTask(2);
    const deps = apiDepsOf(clients, resources);
    const event = proxyEvent({
      method: 'POST',
      path: `/tasks/${ids.taskId}/cancel`,
      resource: '/tasks/{taskId}/cancel',
      body: { reason: 'wrong geometry' },
    });

    // Act
    const answer = await handleApiRequest(event, deps, {
      requestId: 'req-deadline',
      pastDeadline: () => true,
      serverUrl: undefined,
    });

    // Assess: the task is CANCELLED, its jobs not yet, and a task.cancel event carries the rest
    expect(answer.statusCode).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ state: 'CANCELLED', progress: { jobs: { READY: 2 } } });
    const events = await eventually(async () => {
      const messages = await drainQueue(clients.sqs, resources.queues.taskCommands);
      const bodies = messages.map((message) => JSON.parse(message.Body!));
      const continuation = bodies.filter((body) => body.detail?.taskId === ids.taskId);
      expect(continuation).toHaveLength(1);
      return continuation;
    });
    expect(events[0]).toMatchObject({
      source: 'spd.wms',
      'detail-type': 'task.cancel',
      detail: { taskId: ids.taskId, reason: 'wrong geometry' },
    });
  });
});
