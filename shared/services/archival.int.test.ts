/**
 * The whole archival cycle on the embedded default: a task runs to DONE; the watchdog exports
 * it, marks it and gives its jobs and log files their TTL; "now" moves past the retention and
 * the expired items are deleted as DynamoDB's TTL deletes them (moto records the TTL setting
 * but never deletes); the job listing, a job's why, its log, the analysis, the files and the
 * audit then answer from the export exactly as they answered from the tables.
 */
import { createHash } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { DeleteCommand, GetCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { handleApiRequest } from '../../functions/api/api.js';
import type { ApiDeps } from '../../functions/api/operations.js';
import {
  apiDepsOf,
  createFunctionResources,
  type FunctionResources,
  proxyEvent,
} from '../../functions/api/test-support.js';
import { fileRef, newFile, outputFile, pilotRegistration, taskSpec } from '../../test/support/index.js';
import { archiveKey } from '../archive/index.js';
import { type AwsClients, CallCounter, createAwsClients } from '../aws/index.js';
import { datasetUidFor } from '../ids/index.js';
import { createRepositories, type Repositories, type TableNames } from '../repositories/index.js';
import { logFileName } from './operator.js';
import { runWatchdog, type WatchdogDeps } from './watchdog.js';

const JOBS = 7;
const AFTER_SECONDS = 3600;
const RETENTION_DAYS = 30;

let clients: AwsClients;
let resources: FunctionResources;
let repos: Repositories;
let api: ApiDeps;

beforeAll(async () => {
  clients = createAwsClients();
  resources = await createFunctionResources('archival', clients);
  api = apiDepsOf(clients, resources);
  repos = api.repos;
});

async function call(
  method: string,
  path: string,
  options: { body?: unknown; query?: Record<string, string> } = {},
): Promise<APIGatewayProxyResult & { json: unknown }> {
  const result = await handleApiRequest(
    proxyEvent({ method, path, ...options }),
    { ...api },
    { requestId: 'req-archival', pastDeadline: () => false, serverUrl: undefined },
  );
  return { ...result, json: JSON.parse(result.body) };
}

/** Every page of a listing route, `limit` items a page. */
async function allPages(path: string, query: Record<string, string>): Promise<unknown[]> {
  const items: unknown[] = [];
  let nextToken: string | undefined;
  do {
    const page = await call('GET', path, { query: { ...query, ...(nextToken ? { nextToken } : {}) } });
    expect(page.statusCode, page.body).toBe(200);
    const body = page.json as { items: unknown[]; nextToken?: string };
    items.push(...body.items);
    nextToken = body.nextToken;
  } while (nextToken !== undefined);
  return items;
}

function checksumOf(content: string): string {
  return `sha256:${createHash('sha256').update(content).digest('hex')}`;
}

/** A task run to DONE: every job claimed by a pilot and completed with an output and a log. */
async function finishedTask(taskId: string): Promise<string[]> {
  const input = `ds-${taskId}-in`;
  const names = Array.from({ length: JOBS }, (_, index) => `f${index}.raw`);
  await repos.datasets.create({ uid: input, name: input, kind: 'input' });
  await repos.files.registerMany(names.map((name) => newFile(input, name)));
  await repos.datasets.close(input, { expectedFileCount: names.length });
  const spec = taskSpec({
    inputDatasetUid: input,
    outputDataset: `${taskId}-out`,
    logDataset: `${taskId}-log`,
  });
  expect((await call('POST', '/tasks', { body: { taskId, ...spec } })).statusCode).toBe(201);
  const task = await repos.tasks.get(taskId);
  const jobs = names.map((name) => ({
    jobId: `${taskId}-${name.replace('.', '-')}`,
    inputs: [fileRef(name)],
  }));
  await repos.jobs.createJobs(task, jobs);
  const pilotId = `pilot-${taskId}`;
  await repos.pilots.register(pilotRegistration(pilotId));
  const datasets = { output: datasetUidFor(spec.outputDataset), log: datasetUidFor(spec.logDataset) };
  for (const { jobId } of jobs) {
    await repos.jobs.markQueued([{ jobId, taskId, attempt: 0 }]);
    const claimToken = await repos.jobs.claim({ jobId, taskId, attempt: 0, pilotId });
    const log = logFileName(jobId, 0);
    const logKey = `outputs/${spec.logDataset}/${log}`;
    const outputKey = `outputs/${spec.outputDataset}/${jobId}.root`;
    for (const [key, body] of [
      [logKey, `log of ${jobId}\n`],
      [outputKey, `events of ${jobId}`],
    ] as const) {
      await clients.s3.send(new PutObjectCommand({ Bucket: resources.dataBucket, Key: key, Body: body }));
    }
    await repos.jobs.completeWithOutputs({
      jobId,
      taskId,
      attempt: 0,
      claimToken,
      datasets,
      exitCode: 0,
      outputs: [
        outputFile(`${jobId}.root`, {
          size: `events of ${jobId}`.length,
          checksum: checksumOf(`events of ${jobId}`),
          location: { bucket: resources.dataBucket, key: outputKey },
        }),
        outputFile(log, {
          kind: 'log',
          size: `log of ${jobId}\n`.length,
          checksum: checksumOf(`log of ${jobId}\n`),
          location: { bucket: resources.dataBucket, key: logKey },
        }),
      ],
    });
  }
  await repos.tasks.transition({ taskId, from: 'RUNNING', to: 'DONE' });
  return jobs.map((job) => job.jobId);
}

/** What every reader of the task answers: the listing (paged), each job's why and log, files, analysis, audit. */
async function readers(taskId: string, jobIds: readonly string[]) {
  const why = [];
  for (const jobId of jobIds) {
    const job = await call('GET', `/jobs/${jobId}`, { query: { taskId } });
    expect(job.statusCode, job.body).toBe(200);
    why.push(job.json);
  }
  const log = await call('GET', `/jobs/${jobIds[0]}/log`, { query: { taskId } });
  const analysis = await call('GET', `/tasks/${taskId}/analysis`);
  const audit = await call('POST', '/audit', { body: { taskId, repair: false } });
  const { generatedAt: _analysed, ...analysisBody } = analysis.json as Record<string, unknown>;
  return {
    jobs: await allPages(`/tasks/${taskId}/jobs`, { limit: '3' }),
    doneJobs: await allPages(`/tasks/${taskId}/jobs`, { limit: '2', state: 'DONE' }),
    files: await allPages(`/tasks/${taskId}/files`, { limit: '4' }),
    why,
    log: { status: log.statusCode, body: log.json },
    analysis: analysisBody,
    audit: (audit.json as { findings: unknown[]; jobs: number; tasks: number }).findings,
    auditJobs: (audit.json as { jobs: number }).jobs,
  };
}

/** DynamoDB's TTL sweep, which moto does not run: deletes every item of `table` whose `expiresAt` has passed. */
async function sweepExpired(table: string, key: readonly string[], now: Date): Promise<number> {
  const { Items = [] } = await clients.doc.send(new ScanCommand({ TableName: table }));
  let deleted = 0;
  for (const item of Items) {
    if (typeof item.expiresAt !== 'number' || item.expiresAt * 1000 > now.getTime()) continue;
    await clients.doc.send(
      new DeleteCommand({ TableName: table, Key: Object.fromEntries(key.map((name) => [name, item[name]])) }),
    );
    deleted += 1;
  }
  return deleted;
}

function watchdogDeps(
  tables: TableNames,
  now: Date,
  using: AwsClients = clients,
  tasksPerRun = 10,
): WatchdogDeps {
  return {
    repos: createRepositories({ doc: using.doc, tables }),
    sqs: using.sqs,
    s3: using.s3,
    settings: {
      pilotLostAfterSeconds: 10 * 365 * 86_400,
      jobUnreportedAfterSeconds: 600,
      queuedStuckAfterSeconds: 300,
      retryPolicy: {},
      controlQueuePrefix: resources.controlQueuePrefix,
      jobsCpuQueueUrl: resources.queues.jobsCpu,
      jobsGpuQueueUrl: resources.queues.jobsGpu,
      rank: {},
      auditTasks: 0,
      auditObjects: 0,
      eventBusName: resources.eventBusName,
      archive: {
        dataBucket: resources.dataBucket,
        afterSeconds: AFTER_SECONDS,
        retentionDays: RETENTION_DAYS,
        tasksPerRun,
      },
    },
    logger: new Logger({ logLevel: 'SILENT' }),
    metrics: new Metrics({ namespace: 'test', serviceName: 'archival-test' }),
    clock: () => now,
  };
}

describe('archival of a finished task', () => {
  it('exports it, expires its items, and every reader answers from the export as before', async () => {
    // Prepare: a task run to DONE, and what its readers answer from the tables.
    const taskId = 't-archival-cycle';
    const jobIds = await finishedTask(taskId);
    const before = await readers(taskId, jobIds);
    const endedAt = Date.parse((await repos.tasks.get(taskId)).endedAt!);
    expect(before.jobs).toHaveLength(JOBS);
    expect(before.files).toHaveLength(2 * JOBS);
    expect(before.audit).toEqual([]);

    // Act: a watchdog run before ARCHIVE_AFTER_SECONDS leaves it; one after archives it.
    const early = await runWatchdog(watchdogDeps(resources.tables, new Date(endedAt + 1000)));
    const archivedAt = new Date(endedAt + (AFTER_SECONDS + 1) * 1000);
    const calls = new CallCounter();
    const run = await runWatchdog(
      watchdogDeps(resources.tables, archivedAt, createAwsClients({ callCounter: calls })),
    );
    const archival = calls
      .snapshot()
      .filter((call) => !['ListQueues', 'GetQueueAttributes'].includes(call.operation));
    console.info(
      `AWS calls of a watchdog run archiving a task of ${JOBS} jobs (outputs and logs: ${2 * JOBS} files), besides its other steps`,
      archival,
    );

    // Assess: the export is complete and recorded, then every job and log file got its TTL.
    expect(early.archival?.exported).toEqual([]);
    expect(run.archival).toMatchObject({
      exported: [taskId],
      finished: [taskId],
      jobsExpired: JOBS,
      filesExpired: JOBS,
    });
    const task = await repos.tasks.get(taskId);
    const expiresAt = Math.floor(archivedAt.getTime() / 1000) + RETENTION_DAYS * 86_400;
    expect(task.archive).toMatchObject({
      key: archiveKey(taskId),
      jobs: JOBS,
      files: 2 * JOBS,
      archivedAt: archivedAt.toISOString(),
      expiresAt,
    });
    expect(task.archivePending).toBeUndefined();
    const object = await clients.s3.send(
      new GetObjectCommand({ Bucket: resources.dataBucket, Key: archiveKey(taskId) }),
    );
    const bytes = Buffer.from(await object.Body!.transformToByteArray());
    expect(bytes.toString('utf8').trimEnd().split('\n')).toHaveLength(1 + 3 * JOBS);
    console.info(`export of ${JOBS} jobs and ${2 * JOBS} files: ${bytes.length} bytes`);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(task.archive?.sha256);
    const job = await clients.doc.send(
      new GetCommand({ TableName: resources.tables.jobs, Key: { jobId: jobIds[0] } }),
    );
    expect(job.Item?.expiresAt).toBe(expiresAt);
    const outputs = await clients.doc.send(
      new QueryCommand({
        TableName: resources.tables.files,
        KeyConditionExpression: 'datasetUid = :uid',
        ExpressionAttributeValues: { ':uid': datasetUidFor(`${taskId}-out`) },
      }),
    );
    expect(outputs.Items?.filter((file) => file.expiresAt !== undefined)).toEqual([]);

    // Act: past the retention, the expired items are gone.
    const expired = new Date((expiresAt + 1) * 1000);
    expect(await sweepExpired(resources.tables.jobs, ['jobId'], expired)).toBe(JOBS);
    expect(await sweepExpired(resources.tables.files, ['datasetUid', 'name'], expired)).toBe(JOBS);

    // Assess: the readers answer from the export with the same content.
    const after = await readers(taskId, jobIds);
    expect(after).toEqual(before);
    expect(await repos.jobs.find(jobIds[0]!)).toBeUndefined();
  }, 120_000);

  it('redoes an export over what its key held, keeps the first mark, refuses retries, and refuses a changed export', async () => {
    // Prepare: a finished task whose key holds the remains of an export that did not complete.
    const taskId = 't-archival-redo';
    const jobIds = await finishedTask(taskId);
    const before = await allPages(`/tasks/${taskId}/jobs`, { limit: '100' });
    await clients.s3.send(
      new PutObjectCommand({
        Bucket: resources.dataBucket,
        Key: archiveKey(taskId),
        Body: '{"kind":"header"',
      }),
    );
    const endedAt = Date.parse((await repos.tasks.get(taskId)).endedAt!);
    const now = new Date(endedAt + (AFTER_SECONDS + 1) * 1000);

    // Act
    const run = await runWatchdog(watchdogDeps(resources.tables, now));
    const archived = await repos.tasks.get(taskId);
    const second = await repos.archive.markArchived(taskId, { ...archived.archive!, sha256: '0'.repeat(64) });
    const retryJob = await call('POST', `/jobs/${jobIds[0]}/retry`);
    const retryTask = await call('POST', `/tasks/${taskId}/retry`);
    const listed = await allPages(`/tasks/${taskId}/jobs`, { limit: '100' });
    const object = await clients.s3.send(
      new GetObjectCommand({ Bucket: resources.dataBucket, Key: archiveKey(taskId) }),
    );
    const text = await object.Body!.transformToString('utf8');
    await clients.s3.send(
      new PutObjectCommand({
        Bucket: resources.dataBucket,
        Key: archiveKey(taskId),
        Body: text.replace('"state":"DONE"', '"state":"FAILED"'),
      }),
    );
    const tampered = await call('GET', `/tasks/${taskId}/jobs`);

    // Assess
    expect(run.archival?.exported).toContain(taskId);
    expect(second.applied).toBe(false);
    expect(second.task.archive).toEqual(archived.archive);
    expect(listed).toEqual(before);
    expect(retryJob.statusCode).toBe(409);
    expect(JSON.stringify(retryJob.json)).toMatch(/archived at .*read-only/);
    expect(retryTask.statusCode).toBe(409);
    expect(JSON.stringify(retryTask.json)).toMatch(/archived/);
    expect(tampered.statusCode).toBe(500);
  }, 120_000);

  it('leaves a finished task whose jobs can still change for later, without holding back the next', async () => {
    // Prepare: a task cancelled with READY jobs its sweep has not reached, ended first; then one DONE.
    const unsettled = 't-archival-unsettled';
    const input = `ds-${unsettled}-in`;
    await repos.datasets.create({ uid: input, name: input, kind: 'input' });
    await repos.files.registerMany([newFile(input, 'only.raw')]);
    await repos.datasets.close(input, { expectedFileCount: 1 });
    const spec = taskSpec({
      inputDatasetUid: input,
      outputDataset: `${unsettled}-out`,
      logDataset: `${unsettled}-log`,
    });
    await call('POST', '/tasks', { body: { taskId: unsettled, ...spec } });
    await repos.jobs.createJobs(await repos.tasks.get(unsettled), [
      { jobId: `${unsettled}-only`, inputs: [fileRef('only.raw')] },
    ]);
    await repos.tasks.transition({ taskId: unsettled, from: 'RUNNING', to: 'CANCELLED' });
    const settled = 't-archival-settled';
    await finishedTask(settled);
    const endedAt = Date.parse((await repos.tasks.get(settled)).endedAt!);

    // Act: one task a run.
    const run = await runWatchdog(
      watchdogDeps(resources.tables, new Date(endedAt + (AFTER_SECONDS + 1) * 1000), clients, 1),
    );

    // Assess
    expect(run.archival?.deferred).toContainEqual({
      taskId: unsettled,
      reason: 'jobs of the task can still change',
    });
    expect(run.archival?.exported).toEqual([settled]);
    expect((await repos.tasks.get(unsettled)).archive).toBeUndefined();
    expect((await repos.tasks.get(unsettled)).archivePending).toBe('PENDING');
  }, 120_000);
});
