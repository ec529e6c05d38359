import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AuditReportView,
  DashboardHistory,
  DashboardSummary,
  DeadLetterList,
  ErrorResponse,
  RedriveReport,
  RegisterTaskResponse,
} from '../../events/api.js';
import { type AwsClients, CallCounter, createAwsClients } from '../../shared/aws/index.js';
import { counterShardKey } from '../../shared/repositories/counter-shards.js';
import type { Repositories } from '../../shared/repositories/index.js';
import { ControlTableRecorder } from '../../shared/throughput/index.js';
import { fileRef, newFile, pilotRegistration, taskSpec } from '../../test/support/index.js';
import { DEAD_LETTER_ATTRIBUTES, sendToDeadLetterQueue } from '../common/index.js';
import { handleApiRequest } from './api.js';
import type { ApiDeps } from './operations.js';
import {
  apiDepsOf,
  createFunctionResources,
  drainQueue,
  type FunctionResources,
  proxyEvent,
} from './test-support.js';

let clients: AwsClients;
let resources: FunctionResources;
let repos: Repositories;
let deps: ApiDeps;
const counter = new CallCounter();
let sequence = 0;

beforeAll(async () => {
  clients = createAwsClients({ callCounter: counter });
  resources = await createFunctionResources('api-operator', clients);
  deps = apiDepsOf(clients, resources);
  repos = deps.repos;
});

async function call(
  method: string,
  path: string,
  options: { resource?: string; body?: unknown; query?: Record<string, string>; deps?: ApiDeps } = {},
): Promise<APIGatewayProxyResult & { json: unknown }> {
  const result = await handleApiRequest(
    proxyEvent({
      method,
      path,
      resource: options.resource ?? path,
      body: options.body,
      ...(options.query && { query: options.query }),
    }),
    options.deps ?? deps,
    { requestId: `req-${path}`, pastDeadline: () => false, serverUrl: undefined },
  );
  const isJson = String(result.headers?.['content-type']).startsWith('application/json');
  return { ...result, json: isJson ? JSON.parse(result.body) : undefined };
}

/** A RUNNING task over a closed input of `files` files, each with a READY job. */
async function runningTask(files: number): Promise<{ taskId: string; jobIds: string[] }> {
  sequence += 1;
  const taskId = `t-operator-${sequence}`;
  const input = `ds-operator-in-${sequence}`;
  const names = Array.from({ length: files }, (_, index) => `f${index}.raw`);
  await repos.datasets.create({ uid: input, name: input, kind: 'input' });
  await repos.files.registerMany(names.map((name) => newFile(input, name)));
  await repos.datasets.close(input, { expectedFileCount: names.length });
  const registered = await call('POST', '/tasks', {
    body: {
      taskId,
      ...taskSpec({
        inputDatasetUid: input,
        outputDataset: `operator-out-${sequence}`,
        logDataset: `operator-log-${sequence}`,
      }),
    },
  });
  expect(RegisterTaskResponse.parse(registered.json).state).toBe('RUNNING');
  const task = await repos.tasks.get(taskId);
  const jobs = names.map((name) => ({
    jobId: `${taskId}-${name.replace('.', '-')}`,
    inputs: [fileRef(name)],
  }));
  await repos.jobs.createJobs(task, jobs);
  return { taskId, jobIds: jobs.map((job) => job.jobId) };
}

async function deadLetter(body: string, reason: string): Promise<void> {
  await sendToDeadLetterQueue(clients.sqs, resources.queues.taskCommandsDeadLetter, {
    body,
    code: 'VALIDATION',
    reason,
    sourceQueueUrl: resources.queues.taskCommands,
    receiveCount: 1,
  });
}

describe('POST /audit', () => {
  it('finds counters that disagree with the jobs, and repairs them on request', async () => {
    // Prepare: a task with 3 READY jobs whose counters a fault moved
    const { taskId } = await runningTask(3);
    await clients.doc.send(
      new UpdateCommand({
        TableName: resources.tables.tasks,
        Key: counterShardKey(taskId, 0),
        UpdateExpression: 'SET #counts.#done = :five',
        ExpressionAttributeNames: { '#counts': 'counts', '#done': 'DONE' },
        ExpressionAttributeValues: { ':five': 5 },
      }),
    );

    counter.reset();

    // Act
    const found = await call('POST', '/audit', { body: { taskId } });
    console.log(`audit of a task of 3 jobs: ${JSON.stringify(counter.snapshot())}`);
    const repaired = await call('POST', '/audit', { body: { taskId, repair: true } });
    const after = await call('POST', '/audit', { body: { taskId } });

    // Assess
    expect(found.statusCode).toBe(200);
    const report = AuditReportView.parse(found.json);
    expect(report).toMatchObject({ tasks: 1, jobs: 3, repairs: [], eventsPublished: 0 });
    expect(report.findings).toEqual([
      expect.objectContaining({
        invariant: 'task-counters',
        entity: { kind: 'task', id: taskId },
        repairable: true,
      }),
    ]);
    expect(AuditReportView.parse(repaired.json).repairs).toEqual([
      expect.objectContaining({ applied: true }),
    ]);
    expect((await repos.tasks.get(taskId)).counts).toMatchObject({ READY: 3, DONE: 0 });
    expect(AuditReportView.parse(after.json).findings).toEqual([]);
  });

  it('answers 404 for a task that does not exist and 400 for a task with a sample size', async () => {
    // Act
    const missing = await call('POST', '/audit', { body: { taskId: 't-operator-none' } });
    const both = await call('POST', '/audit', { body: { taskId: 't-1', maxTasks: 3 } });

    // Assess
    expect(missing.statusCode).toBe(404);
    expect(both.statusCode).toBe(400);
    expect(ErrorResponse.parse(both.json).error.issues).toEqual([
      { path: 'maxTasks', message: expect.any(String) },
    ]);
  });
});

describe('GET /dead-letters and POST /dead-letters/{queue}/redrive', () => {
  it('show every dead-letter queue and why its messages are there, without consuming them', async () => {
    // Prepare
    await drainQueue(clients.sqs, resources.queues.taskCommandsDeadLetter);
    await deadLetter('{"poison":1}', 'detail.taskId: Invalid input');
    await deadLetter('{"poison":2}', 'detail.rank: Too big');

    // Act
    const first = DeadLetterList.parse((await call('GET', '/dead-letters')).json);
    const second = DeadLetterList.parse((await call('GET', '/dead-letters')).json);

    // Assess
    expect(first.queues.map((queue) => [queue.name, queue.source])).toEqual([
      ['pilot-control', null],
      ['task-commands', 'task-commands'],
    ]);
    const taskCommands = first.queues.find((queue) => queue.name === 'task-commands')!;
    expect(taskCommands.depth).toBe(2);
    expect(taskCommands.messages.map((message) => message.errorReason).sort()).toEqual([
      'detail.rank: Too big',
      'detail.taskId: Invalid input',
    ]);
    expect(taskCommands.messages[0]).toMatchObject({
      errorCode: 'VALIDATION',
      receiveCount: 1,
      bodyTruncated: false,
    });
    expect(second.queues.find((queue) => queue.name === 'task-commands')!.depth).toBe(2);
  });

  it('moves dead letters back to their source without the dead-letter bookkeeping, counting its calls', async () => {
    // Prepare
    await drainQueue(clients.sqs, resources.queues.taskCommandsDeadLetter);
    await drainQueue(clients.sqs, resources.queues.taskCommands);
    for (let index = 0; index < 12; index += 1) await deadLetter(`{"poison":${index}}`, 'bad');
    counter.reset();

    // Act
    const answer = await call('POST', '/dead-letters/task-commands/redrive', {
      resource: '/dead-letters/{queue}/redrive',
      body: { maxMessages: 100 },
    });
    const calls = counter.snapshot();

    // Assess
    expect(answer.statusCode).toBe(200);
    expect(RedriveReport.parse(answer.json)).toEqual({
      queue: 'task-commands',
      source: 'task-commands',
      moved: 12,
      remaining: 0,
    });
    const redriven = await drainQueue(clients.sqs, resources.queues.taskCommands);
    expect(redriven.map((message) => message.Body).sort()).toEqual(
      Array.from({ length: 12 }, (_, index) => `{"poison":${index}}`).sort(),
    );
    for (const message of redriven) {
      expect(Object.keys(message.MessageAttributes ?? {})).not.toContain(DEAD_LETTER_ATTRIBUTES.code);
    }
    // 12 messages: depth before and after, 2 receives, 2 batch sends, 2 batch deletes (and
    // queue URL look-ups only on a cold start).
    const sqsCalls = calls.filter((entry) => entry.operation !== 'GetQueueUrl');
    console.log(`redrive of 12 dead letters: ${JSON.stringify(calls)}`);
    expect(sqsCalls.reduce((sum, entry) => sum + entry.calls, 0)).toBe(8);
  });

  it('refuses a queue without a source (409), an unknown queue (404) and a bad bound (400)', async () => {
    // Act
    const noSource = await call('POST', '/dead-letters/pilot-control/redrive', {
      resource: '/dead-letters/{queue}/redrive',
      body: {},
    });
    const unknown = await call('POST', '/dead-letters/no-such-queue/redrive', {
      resource: '/dead-letters/{queue}/redrive',
      body: {},
    });
    const badBound = await call('POST', '/dead-letters/task-commands/redrive', {
      resource: '/dead-letters/{queue}/redrive',
      body: { maxMessages: 0 },
    });

    // Assess
    expect([noSource.statusCode, unknown.statusCode, badBound.statusCode]).toEqual([409, 404, 400]);
    expect(ErrorResponse.parse(badBound.json).error.issues).toEqual([
      { path: 'maxMessages', message: expect.any(String) },
    ]);
  });

  it('show a message SQS moved itself, which carries no reason', async () => {
    // Prepare
    await drainQueue(clients.sqs, resources.queues.taskCommandsDeadLetter);
    await clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: resources.queues.taskCommandsDeadLetter,
        MessageBody: 'moved by SQS',
      }),
    );

    // Act
    const list = DeadLetterList.parse((await call('GET', '/dead-letters')).json);

    // Assess: a message SQS moved itself carries no reason
    const [message] = list.queues.find((queue) => queue.name === 'task-commands')!.messages;
    expect(message).toEqual({
      messageId: expect.any(String),
      sentAt: expect.any(String),
      body: 'moved by SQS',
      bodyTruncated: false,
    });
  });
});

describe('GET /dashboard and GET /dashboard/summary', () => {
  it('serve the page with a policy that allows only its own script, style and origin', async () => {
    // Act
    const page = await call('GET', '/dashboard');

    // Assess
    expect(page.statusCode).toBe(200);
    expect(page.headers?.['content-type']).toBe('text/html; charset=utf-8');
    expect(page.body).toContain('<title>SPD WMS dashboard</title>');
    const policy = String(page.headers?.['content-security-policy']);
    expect(policy).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
    expect(policy).toContain("connect-src 'self'");
    expect(policy).not.toContain('unsafe-inline');
  });

  it('summarizes active tasks, live pilots and dead-letter depths, counting its calls', async () => {
    // Prepare
    const { taskId } = await runningTask(2);
    await repos.pilots.register(pilotRegistration(`p-operator-${sequence}`, { slots: 4 }));
    await drainQueue(clients.sqs, resources.queues.taskCommandsDeadLetter);
    await deadLetter('{"poison":"summary"}', 'bad');
    counter.reset();

    // Act
    const answer = await call('GET', '/dashboard/summary');
    const calls = counter.count();

    // Assess
    const summary = DashboardSummary.parse(answer.json);
    const task = summary.tasks.find((candidate) => candidate.taskId === taskId);
    expect(task?.progress).toMatchObject({ jobsTotal: 2, jobs: { READY: 2 } });
    expect(summary.pilots.map((pilot) => pilot.pilotId)).toContain(`p-operator-${sequence}`);
    expect(summary.deadLetters).toEqual([
      { name: 'pilot-control', depth: 0 },
      { name: 'task-commands', depth: 1 },
    ]);
    console.log(`dashboard summary: ${calls} AWS calls (${JSON.stringify(counter.snapshot())})`);
    // Three states of tasks, the counter shards of the one state that has tasks, two of pilots,
    // one depth per dead-letter queue.
    expect(calls).toBe(3 + 1 + 2 + summary.deadLetters.length);
  });
});

describe('GET /dashboard/history', () => {
  it("returns the last hour's jobs done and failed per minute from the Control table's record, in one read", async () => {
    // Prepare: three status batches over two minutes of a fixed hour, as the status function records them.
    const now = new Date('2026-03-02T10:30:20.000Z');
    const recorder = new ControlTableRecorder(repos.control);
    await recorder.record({ done: 4, failed: 0 }, new Date('2026-03-02T10:28:05.000Z'));
    await recorder.record({ done: 3, failed: 1 }, new Date('2026-03-02T10:28:59.000Z'));
    await recorder.record({ done: 2, failed: 0 }, new Date('2026-03-02T10:30:01.000Z'));
    counter.reset();

    // Act
    const answer = await call('GET', '/dashboard/history', { deps: { ...deps, clock: () => now } });
    const calls = counter.snapshot();
    const tooLong = await call('GET', '/dashboard/history', { query: { minutes: '1441' } });

    // Assess
    expect(answer.statusCode).toBe(200);
    const body = DashboardHistory.parse(answer.json);
    expect(body.source).toBe('control-table');
    expect(body.points).toHaveLength(60);
    expect(body.points[0]?.minute).toBe('2026-03-02T09:31:00.000Z');
    expect(body.points.slice(-3)).toEqual([
      { minute: '2026-03-02T10:28:00.000Z', done: 7, failed: 1 },
      { minute: '2026-03-02T10:29:00.000Z', done: 0, failed: 0 },
      { minute: '2026-03-02T10:30:00.000Z', done: 2, failed: 0 },
    ]);
    expect(body.points.slice(0, -3).every((point) => point.done === 0 && point.failed === 0)).toBe(true);
    expect(calls).toEqual([{ service: 'DynamoDB', operation: 'BatchGetItem', calls: 1 }]);
    expect(tooLong.statusCode).toBe(400);
    expect(JSON.stringify(tooLong.json)).toContain('minutes');
  });
});
