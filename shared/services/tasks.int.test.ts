import { Logger } from '@aws-lambda-powertools/logger';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { KillJobCommand } from '../../events/pilot.js';
import {
  fileRef,
  newFile,
  type RepositoryFixture,
  repositoryFixture,
  taskSpec,
  uniquePrefix,
} from '../../test/support/index.js';
import { DEFAULT_COUNTER_SHARDS } from '../counters/index.js';
import { NotFoundError, StateConflictError, ValidationError } from '../errors/index.js';
import { datasetUidFor } from '../ids/index.js';
import { planJobs } from '../jobgen/index.js';
import type { JobRecord, TaskRecord } from '../model/index.js';
import { counterShardKey } from '../repositories/counter-shards.js';
import {
  cancelTask,
  DatasetInUseError,
  JobGenerationMessage,
  registerPilot,
  registerTask,
  setTaskRank,
  type TaskServiceDeps,
  TaskSpecConflictError,
} from './index.js';

let fixture: RepositoryFixture;
let deps: TaskServiceDeps;
let controlDeadLetterArn: string;
let counter = 0;
const logger = new Logger({ logLevel: 'SILENT' });

async function createQueue(sqs: SQSClient, name: string): Promise<string> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
  return QueueUrl!;
}

async function receiveAll(sqs: SQSClient, queueUrl: string): Promise<string[]> {
  const bodies: string[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    if (Messages.length === 0) return bodies;
    bodies.push(...Messages.map((message) => message.Body!));
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: Messages.map((message, index) => ({
          Id: String(index),
          ReceiptHandle: message.ReceiptHandle!,
        })),
      }),
    );
  }
}

beforeAll(async () => {
  fixture = await repositoryFixture('svc-tasks');
  const prefix = uniquePrefix('svc-tasks');
  const jobGenerationQueueUrl = await createQueue(fixture.clients.sqs, `${prefix}-job-generation`);
  await createQueue(fixture.clients.sqs, `${prefix}-control-dlq`);
  controlDeadLetterArn = `arn:aws:sqs:us-east-1:123456789012:${prefix}-control-dlq`;
  deps = { repos: fixture.repos, sqs: fixture.clients.sqs, jobGenerationQueueUrl, logger };
});

function nextIds() {
  counter += 1;
  return {
    taskId: `t-svc-${counter}`,
    input: `ds-input-${counter}`,
    output: `out-${counter}`,
    log: `log-${counter}`,
  };
}

async function closedInput(uid: string, fileCount: number): Promise<string[]> {
  await fixture.repos.datasets.create({ uid, name: uid, kind: 'input' });
  const names = Array.from({ length: fileCount }, (_, index) => `run_${String(index).padStart(5, '0')}.raw`);
  await fixture.repos.files.registerMany(names.map((name) => newFile(uid, name)));
  await fixture.repos.datasets.close(uid, { expectedFileCount: fileCount });
  return names;
}

function specFor(ids: ReturnType<typeof nextIds>, overrides: Parameters<typeof taskSpec>[0] = {}) {
  return taskSpec({
    inputDatasetUid: ids.input,
    outputDataset: ids.output,
    logDataset: ids.log,
    ...overrides,
  });
}

async function generationMessages(): Promise<JobGenerationMessage[]> {
  const bodies = await receiveAll(fixture.clients.sqs, deps.jobGenerationQueueUrl);
  return bodies.map((body) => JobGenerationMessage.parse(JSON.parse(body)));
}

/** A RUNNING task with `jobCount` READY map jobs (jobs made as the job generator would). */
async function runningTaskWithJobs(jobCount: number): Promise<{ task: TaskRecord; jobs: JobRecord[] }> {
  const ids = nextIds();
  await closedInput(ids.input, 0);
  const { task } = await registerTask(deps, { taskId: ids.taskId, ...specFor(ids) });
  await generationMessages();
  const files = Array.from({ length: jobCount }, (_, index) =>
    fileRef(`f${String(index).padStart(5, '0')}.raw`),
  );
  const plan = planJobs({ taskId: task.taskId, mode: 'map', filesPerJob: 1 }, files, { final: true });
  await fixture.repos.jobs.createJobs(task, plan.jobs);
  const jobs = await fixture.repos.jobs.getMany(plan.jobs.map((job) => job.jobId));
  return { task, jobs: jobs.sort((a, b) => a.jobId.localeCompare(b.jobId)) };
}

describe('registerTask', () => {
  it('registers a task once: a repeat returns it unchanged, with its output and log datasets OPEN', async () => {
    // Prepare
    const ids = nextIds();
    const request = { taskId: ids.taskId, ...specFor(ids) };

    // Act
    const first = await registerTask(deps, request);
    const second = await registerTask(deps, request);

    // Assess
    expect(first).toMatchObject({ created: true, generationRequested: false, task: { state: 'REGISTERED' } });
    expect(second.created).toBe(false);
    expect(second.task).toEqual(first.task);
    const output = await fixture.repos.datasets.get(datasetUidFor(ids.output));
    const log = await fixture.repos.datasets.get(datasetUidFor(ids.log));
    expect(output).toMatchObject({
      name: ids.output,
      kind: 'output',
      state: 'OPEN',
      producerTaskId: ids.taskId,
    });
    expect(log).toMatchObject({ name: ids.log, kind: 'log', state: 'OPEN', producerTaskId: ids.taskId });
    expect(await generationMessages()).toEqual([]);
  });

  it('gives a new task the counter shards its deployment sets, and its jobs count on them', async () => {
    // Prepare
    const ids = nextIds();
    await closedInput(ids.input, 0);
    const storedShards = async (taskId: string) => {
      const found: number[] = [];
      for (let shard = 0; shard <= DEFAULT_COUNTER_SHARDS + 2; shard += 1) {
        const { Item } = await fixture.clients.doc.send(
          new GetCommand({ TableName: fixture.tables.tasks, Key: counterShardKey(taskId, shard) }),
        );
        if (Item) found.push(shard);
      }
      return found;
    };

    // Act
    const { task } = await registerTask(
      { ...deps, counterShards: DEFAULT_COUNTER_SHARDS + 2 },
      {
        taskId: ids.taskId,
        ...specFor(ids),
      },
    );
    const files = Array.from({ length: 40 }, (_, index) => fileRef(`s${String(index).padStart(3, '0')}.raw`));
    const plan = planJobs({ taskId: task.taskId, mode: 'map', filesPerJob: 1 }, files, { final: true });
    await fixture.repos.jobs.createJobs(task, plan.jobs);
    const withDefault = nextIds();
    await closedInput(withDefault.input, 0);
    await registerTask(deps, { taskId: withDefault.taskId, ...specFor(withDefault) });
    await generationMessages();

    // Assess
    expect(await storedShards(ids.taskId)).toEqual(
      Array.from({ length: DEFAULT_COUNTER_SHARDS + 2 }, (_, shard) => shard),
    );
    expect(await storedShards(withDefault.taskId)).toEqual(
      Array.from({ length: DEFAULT_COUNTER_SHARDS }, (_, shard) => shard),
    );
    const counted = await fixture.repos.tasks.get(ids.taskId);
    expect(counted.jobsTotal).toBe(40);
    expect(counted.counts.READY).toBe(40);
  });

  it('gives a task without an id a fresh one', async () => {
    const ids = nextIds();
    const { task, created } = await registerTask(deps, specFor(ids));
    expect(created).toBe(true);
    expect(task.taskId).toMatch(/^t-[0-9a-f-]{36}$/);
    expect(await fixture.repos.tasks.get(task.taskId)).toEqual(task);
  });

  it('refuses another specification under an existing id, naming the differing fields', async () => {
    const ids = nextIds();
    await registerTask(deps, { taskId: ids.taskId, ...specFor(ids) });
    const changed = {
      taskId: ids.taskId,
      ...specFor(ids, { executable: '/opt/spd/bin/other', maxRetries: 7 }),
    };
    const refusal = registerTask(deps, changed);
    await expect(refusal).rejects.toBeInstanceOf(TaskSpecConflictError);
    await expect(refusal).rejects.toMatchObject({ fields: ['executable', 'maxRetries'] });
  });

  it('accepts a repeat that changes only the rank', async () => {
    const ids = nextIds();
    await registerTask(deps, { taskId: ids.taskId, ...specFor(ids, { rank: 3 }) });
    const repeat = await registerTask(deps, { taskId: ids.taskId, ...specFor(ids, { rank: 8 }) });
    expect(repeat).toMatchObject({ created: false, task: { rank: 3 } });
  });

  it('starts a task whose input is closed and asks for its jobs until some exist', async () => {
    // Prepare
    const ids = nextIds();
    await closedInput(ids.input, 3);

    // Act
    const first = await registerTask(deps, { taskId: ids.taskId, ...specFor(ids) });
    const repeat = await registerTask(deps, { taskId: ids.taskId, ...specFor(ids) });

    // Assess
    expect(first).toMatchObject({ created: true, generationRequested: true, task: { state: 'RUNNING' } });
    // A repeat before any job exists asks again: generation is idempotent, a lost request is not.
    expect(repeat).toMatchObject({ created: false, generationRequested: true, task: { state: 'RUNNING' } });
    expect(await generationMessages()).toEqual([{ taskId: ids.taskId }, { taskId: ids.taskId }]);
  });

  it('starts a streaming task at once, even before its input exists', async () => {
    const ids = nextIds();
    const result = await registerTask(deps, { taskId: ids.taskId, ...specFor(ids, { streaming: true }) });
    expect(result).toMatchObject({ generationRequested: false, task: { state: 'RUNNING', streaming: true } });
    expect(await generationMessages()).toEqual([]);
  });

  it('asks for the jobs of files registered before a streaming map task existed, on its open input', async () => {
    // Prepare: an open input holding two files, read by a streaming map task and a streaming merge task.
    const ids = nextIds();
    const merge = nextIds();
    await fixture.repos.datasets.create({ uid: ids.input, name: ids.input, kind: 'input' });
    await fixture.repos.files.registerMany(['a.raw', 'b.raw'].map((name) => newFile(ids.input, name)));

    // Act
    const streaming = await registerTask(deps, { taskId: ids.taskId, ...specFor(ids, { streaming: true }) });
    const merging = await registerTask(deps, {
      taskId: merge.taskId,
      ...specFor(merge, { inputDatasetUid: ids.input, streaming: true, mode: 'merge', filesPerJob: 2 }),
    });

    // Assess: merge chunks are known only at the close, which asks for them.
    expect(streaming).toMatchObject({ generationRequested: true, task: { state: 'RUNNING' } });
    expect(merging).toMatchObject({ generationRequested: false, task: { state: 'RUNNING' } });
    expect(await generationMessages()).toEqual([{ taskId: ids.taskId }]);
  });

  it('fails a task whose input is marked for deletion', async () => {
    const ids = nextIds();
    await closedInput(ids.input, 1);
    await fixture.repos.datasets.markToDelete(ids.input, 'CLOSED');
    const result = await registerTask(deps, { taskId: ids.taskId, ...specFor(ids) });
    expect(result.task.state).toBe('FAILED');
    expect(await generationMessages()).toEqual([]);
  });

  it('refuses an output dataset another task writes', async () => {
    const first = nextIds();
    const second = nextIds();
    await registerTask(deps, { taskId: first.taskId, ...specFor(first) });
    const clash = registerTask(deps, {
      taskId: second.taskId,
      ...specFor(second, { outputDataset: first.output }),
    });
    await expect(clash).rejects.toBeInstanceOf(DatasetInUseError);
    expect(await fixture.repos.tasks.find(second.taskId)).toBeUndefined();
  });

  it('refuses the same dataset for outputs and logs, naming the field', async () => {
    const ids = nextIds();
    const refusal = registerTask(deps, { taskId: ids.taskId, ...specFor(ids, { logDataset: ids.output }) });
    await expect(refusal).rejects.toBeInstanceOf(ValidationError);
    await expect(refusal).rejects.toMatchObject({ issues: [{ path: 'logDataset' }] });
  });

  it('refuses an invalid request with every bad field', async () => {
    const refusal = registerTask(deps, { ...specFor(nextIds()), device: 'TPU', args: 'run --all' } as never);
    await expect(refusal).rejects.toMatchObject({
      issues: [
        { path: 'args', message: expect.any(String) },
        { path: 'device', message: expect.any(String) },
      ],
    });
  });
});

describe('AWS calls', () => {
  it('registering a task over a closed input costs 9 calls, once per task', async () => {
    const ids = nextIds();
    await closedInput(ids.input, 2);
    fixture.calls.reset();
    await registerTask(deps, { taskId: ids.taskId, ...specFor(ids) });
    const calls = fixture.calls.snapshot();
    console.info(`AWS calls to register a task: ${fixture.calls.count()}`, calls);
    // The task and its counter shards are created in one transaction, and started in another
    // (the task item and its shards' copy of its state), after which the task is read back with
    // its counters.
    expect(calls).toEqual([
      { service: 'DynamoDB', operation: 'BatchGetItem', calls: 1 },
      { service: 'DynamoDB', operation: 'GetItem', calls: 3 },
      { service: 'DynamoDB', operation: 'PutItem', calls: 2 },
      { service: 'DynamoDB', operation: 'TransactWriteItems', calls: 2 },
      { service: 'SQS', operation: 'SendMessage', calls: 1 },
    ]);
    await generationMessages();
  });

  it('cancelling costs a query and a transaction per 99 pending jobs, plus a few per task', async () => {
    const { task } = await runningTaskWithJobs(150);
    fixture.calls.reset();
    await cancelTask(deps, task.taskId, 'counted');
    const calls = fixture.calls.snapshot();
    console.info(`AWS calls to cancel a task of 150 READY jobs: ${fixture.calls.count()}`, calls);
    // The task is read (its item and counter shards) before and after its state change, one
    // transaction with its shards; a page of 99 jobs with its counter shards takes two.
    expect(calls).toEqual([
      { service: 'DynamoDB', operation: 'BatchGetItem', calls: 2 },
      { service: 'DynamoDB', operation: 'GetItem', calls: 2 },
      { service: 'DynamoDB', operation: 'Query', calls: 5 },
      { service: 'DynamoDB', operation: 'TransactWriteItems', calls: 4 },
    ]);
  });
});

describe('cancelTask', () => {
  it('cancels pending jobs, kills running ones through their pilots, and does it all only once', async () => {
    // Prepare: 6 jobs — 2 READY, 1 QUEUED, 3 RUNNING on two pilots
    const { task, jobs } = await runningTaskWithJobs(6);
    const pilotIds = [`p-cancel-${counter}-a`, `p-cancel-${counter}-b`];
    const controlQueues = await Promise.all(
      pilotIds.map(async (pilotId) =>
        registerPilot(
          {
            repos: fixture.repos,
            sqs: fixture.clients.sqs,
            controlQueuePrefix: uniquePrefix('ctl'),
            controlDeadLetterArn,
            heartbeatIntervalSeconds: 30,
            logger,
          },
          { pilotId, host: 'node01', device: 'CPU', slots: 4, version: '1.0.0' },
        ),
      ),
    );
    await fixture.repos.jobs.markQueued(jobs.slice(2));
    const running = jobs.slice(3);
    for (const [index, job] of running.entries()) {
      await fixture.repos.jobs.claim({ ...job, pilotId: pilotIds[index % 2]! });
    }

    // Act
    const first = await cancelTask(deps, task.taskId, 'wrong calibration');
    const second = await cancelTask(deps, task.taskId, 'wrong calibration');

    // Assess
    // The running jobs end with their pilots' killed results; a repeated cancel kills them again.
    expect(first).toMatchObject({
      outcome: 'cancelled',
      jobsCancelled: 3,
      killCommandsSent: 3,
      complete: true,
    });
    expect(second).toMatchObject({ outcome: 'already-cancelled', jobsCancelled: 0, killCommandsSent: 3 });
    const stored = await fixture.repos.tasks.get(task.taskId);
    expect(stored.state).toBe('CANCELLED');
    expect(stored.counts).toMatchObject({ READY: 0, QUEUED: 0, RUNNING: 3, CANCELLED: 3 });
    const states = (await fixture.repos.jobs.getMany(jobs.map((job) => job.jobId))).map((job) => job.state);
    expect(states).toEqual(['CANCELLED', 'CANCELLED', 'CANCELLED', 'RUNNING', 'RUNNING', 'RUNNING']);
    const kills = await Promise.all(
      controlQueues.map(async ({ controlQueueUrl }) =>
        (await receiveAll(fixture.clients.sqs, controlQueueUrl)).map((body) =>
          KillJobCommand.parse(JSON.parse(body)),
        ),
      ),
    );
    expect([...new Set(kills.flat().map((kill) => kill.jobId))].sort()).toEqual(
      running.map((job) => job.jobId).sort(),
    );
    expect([...new Set(kills[0]!.map((kill) => kill.jobId))].sort()).toEqual(
      [running[0]!.jobId, running[2]!.jobId].sort(),
    );
    expect(kills.flat().every((kill) => kill.reason === 'cancelled' && kill.attempt === 0)).toBe(true);
  });

  it('stops at its deadline and is finished by a repeat', async () => {
    // Prepare: 150 READY jobs: two pages of the READY sweep
    const { task } = await runningTaskWithJobs(150);
    let pages = 0;
    const afterOnePage = () => {
      pages += 1;
      // RUNNING and QUEUED sweeps ask once each before their empty page, READY once more.
      return pages > 3;
    };

    // Act
    const partial = await cancelTask(deps, task.taskId, 'superseded', { pastDeadline: afterOnePage });
    const rest = await cancelTask(deps, task.taskId, 'superseded');

    // Assess
    expect(partial).toMatchObject({ outcome: 'cancelled', jobsCancelled: 99, complete: false });
    expect(rest).toMatchObject({ outcome: 'already-cancelled', jobsCancelled: 51, complete: true });
    expect((await fixture.repos.tasks.get(task.taskId)).counts).toMatchObject({ READY: 0, CANCELLED: 150 });
  });

  it('leaves a finished task alone', async () => {
    const { task, jobs } = await runningTaskWithJobs(1);
    await fixture.repos.jobs.cancel([{ ...jobs[0]!, from: 'READY' }]);
    await fixture.repos.tasks.transition({ taskId: task.taskId, from: 'RUNNING', to: 'DONE' });
    const result = await cancelTask(deps, task.taskId, 'late');
    expect(result).toMatchObject({ outcome: 'already-final', jobsCancelled: 0, task: { state: 'DONE' } });
  });

  it('refuses an unknown task', async () => {
    await expect(cancelTask(deps, 't-never-registered', 'x')).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('setTaskRank', () => {
  it('sets the base and effective rank together, and a repeat changes nothing', async () => {
    // Prepare
    const { task } = await runningTaskWithJobs(1);
    await fixture.repos.tasks.setRank({ taskId: task.taskId, rank: 9 });

    // Act
    const first = await setTaskRank(deps, task.taskId, 40);
    const repeat = await setTaskRank(deps, task.taskId, 40);

    // Assess
    expect(first.changed).toBe(true);
    expect(first.task).toMatchObject({ rank: 40, baseRank: 40 });
    expect(repeat).toEqual({ task: first.task, changed: false });
  });

  it('refuses a finished task and an unknown one', async () => {
    const { task, jobs } = await runningTaskWithJobs(1);
    await fixture.repos.jobs.cancel([{ ...jobs[0]!, from: 'READY' }]);
    await cancelTask(deps, task.taskId, 'done with it');
    await expect(setTaskRank(deps, task.taskId, 2)).rejects.toBeInstanceOf(StateConflictError);
    await expect(setTaskRank(deps, 't-never-registered', 2)).rejects.toBeInstanceOf(NotFoundError);
  });
});
