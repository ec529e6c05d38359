import { ReceiveMessageCommand, SendMessageCommand, SQSServiceException } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorResponse, RegisterTaskResponse, TaskView } from '../../events/api.js';
import { PilotHeartbeat, PilotRegistrationResponse } from '../../events/pilot.js';
import { ROUTES } from '../../events/routes.js';
import { ApiClient } from '../../pilot/agent/api-client.js';
import { PilotLostError } from '../../pilot/agent/errors.js';
import { awsClients, createAwsClients, createSignedHttp } from '../../shared/aws/index.js';
import { type ControlPlane, eventually, startControlPlane, taskSpec } from '../../test/support/index.js';

let plane: ControlPlane;

beforeAll(async () => {
  plane = await startControlPlane();
}, 120_000);

afterAll(async () => {
  await plane?.stop();
});

function task(taskId: string) {
  return { taskId, ...taskSpec({ outputDataset: `${taskId}-out`, logDataset: `${taskId}-log` }) };
}

describe('the api function in the embedded control plane', () => {
  it('refuses a request that is not signed', async () => {
    const response = await fetch(new URL('tasks', plane.apiUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(task('t-unsigned')),
    });
    expect(response.status).toBe(403);
    const listed = await plane.api('GET', '/tasks/t-unsigned');
    expect(listed.status).toBe(404);
  });

  it('registers a task from a signed POST /tasks and shows it', async () => {
    const created = await plane.api('POST', '/tasks', { body: task('t-signed') });
    expect(created.status).toBe(201);
    expect(RegisterTaskResponse.parse(created.body)).toEqual({
      taskId: 't-signed',
      state: 'REGISTERED',
      created: true,
    });
    const shown = await plane.api('GET', '/tasks/t-signed');
    expect(shown.status).toBe(200);
    expect(TaskView.parse(shown.body)).toMatchObject({ taskId: 't-signed', progress: { jobsTotal: 0 } });
  });

  it('answers a client mistake with its field path, never a 5xx', async () => {
    const bad = await plane.api('POST', '/tasks', { body: { ...task('t-bad'), device: 'TPU' } });
    expect(bad.status).toBe(400);
    expect(ErrorResponse.parse(bad.body).error.issues).toEqual([
      { path: 'device', message: expect.any(String) },
    ]);
  });

  it('registers a pilot with a control queue the stack lets it use', async () => {
    const registered = await plane.api('POST', '/pilots', {
      body: { pilotId: 'cp-pilot-1', host: 'node01', device: 'CPU', slots: 2, version: '1.0.0' },
    });
    expect(registered.status).toBe(200);
    expect(PilotRegistrationResponse.parse(registered.body).controlQueueUrl).toMatch(/pilot-cp-pilot-1$/);
  });

  it("lets only the pilot's own key act for it or read its control queue, and the pilot goes on unaffected", async () => {
    // Prepare: two pilots, each with the key the runtime minted for it
    const keyA = plane.runtime.mintCredentials();
    const keyB = plane.runtime.mintCredentials();
    const apiAs = (credentials: typeof keyA) =>
      createSignedHttp({ baseUrl: plane.apiUrl, region: plane.region, credentials, timeoutMs: 60_000 });
    const [pilotA, pilotB] = [apiAs(keyA), apiAs(keyB)];
    const sqsA = createAwsClients({ credentials: keyA }).sqs;
    const sqsB = createAwsClients({ credentials: keyB }).sqs;
    const registration = { host: 'node01', device: 'CPU', slots: 2, version: '1.0.0' };
    const registered = await pilotA('POST', '/pilots', { body: { pilotId: 'cp-owned-a', ...registration } });
    await pilotB('POST', '/pilots', { body: { pilotId: 'cp-owned-b', ...registration } });
    const { controlQueueUrl } = PilotRegistrationResponse.parse(registered.body);
    const beat = (state: string) => ({
      pilotId: 'cp-owned-a',
      state,
      busySlots: 0,
      jobs: [],
      at: new Date().toISOString(),
    });
    // A kill command for A, sent by the control plane
    await awsClients().sqs.send(
      new SendMessageCommand({ QueueUrl: controlQueueUrl, MessageBody: '{"command":"drain"}' }),
    );

    // Act
    const takenOver = await pilotB('POST', '/pilots', { body: { pilotId: 'cp-owned-a', ...registration } });
    const exitedByB = await pilotB('POST', '/pilots/cp-owned-a/heartbeat', { body: beat('EXITED') });
    const readByB = await sqsB
      .send(new ReceiveMessageCommand({ QueueUrl: controlQueueUrl, WaitTimeSeconds: 0 }))
      .catch((error: unknown) => error);
    const beatByA = await pilotA('POST', '/pilots/cp-owned-a/heartbeat', { body: beat('ACTIVE') });
    const readByA = await sqsA.send(
      new ReceiveMessageCommand({ QueueUrl: controlQueueUrl, WaitTimeSeconds: 1 }),
    );
    // B's pilot client takes the refusal as losing the pilot: it stops instead of working on.
    const clientOfB = new ApiClient({ apiUrl: plane.apiUrl, region: plane.region, credentials: keyB });
    const disowned = await clientOfB
      .heartbeat(PilotHeartbeat.parse(beat('IDLE')))
      .catch((error: unknown) => error);

    // Assess
    expect([takenOver.status, ErrorResponse.parse(takenOver.body).error.code]).toEqual([
      403,
      'PILOT_IDENTITY_MISMATCH',
    ]);
    expect([exitedByB.status, ErrorResponse.parse(exitedByB.body).error.code]).toEqual([
      403,
      'PILOT_IDENTITY_MISMATCH',
    ]);
    expect(readByB).toBeInstanceOf(SQSServiceException);
    expect((readByB as SQSServiceException).$metadata.httpStatusCode).toBe(403);
    expect(beatByA).toMatchObject({ status: 200, body: { pilotId: 'cp-owned-a', state: 'ACTIVE' } });
    expect(readByA.Messages?.map((message) => message.Body)).toEqual(['{"command":"drain"}']);
    expect((readByB as SQSServiceException).name).toBe('AccessDenied');
    expect(disowned).toBeInstanceOf(PilotLostError);
  });

  it('serves the OpenAPI document of every route, with the URL it was reached at', async () => {
    const answer = await plane.api('GET', '/openapi.json');
    expect(answer.status).toBe(200);
    const document = answer.body as {
      servers: { url: string }[];
      paths: Record<string, Record<string, unknown>>;
    };
    for (const route of ROUTES) expect(document.paths[route.path]).toHaveProperty(route.method.toLowerCase());
    const served = new URL(document.servers[0]!.url);
    const api = new URL(plane.apiUrl);
    expect([served.host, `${served.pathname}/`]).toEqual([api.host, api.pathname]);
  });

  it('registers a task submitted as an event on the bus', async () => {
    await plane.putEvent('task.submitted', 'spd.wfms', task('t-from-bus'));
    const shown = await eventually(
      async () => {
        const answer = await plane.api('GET', '/tasks/t-from-bus');
        expect(answer.status).toBe(200);
        return answer;
      },
      { timeoutMs: 20_000 },
    );
    expect(TaskView.parse(shown.body)).toMatchObject({ taskId: 't-from-bus', state: 'REGISTERED' });
  });
});
