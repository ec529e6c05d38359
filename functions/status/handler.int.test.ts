import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { CreateEventBusCommand, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
} from '@aws-sdk/client-sqs';
import type { Context, SQSEvent } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import type { JobResultMessage } from '../../events/index.js';
import { toSqsEventRecord } from '../../infra/local/index.js';
import { ERRORS } from '../../shared/errors/index.js';
import { datasetUidFor } from '../../shared/ids/index.js';
import { planJobs } from '../../shared/jobgen/index.js';
import type { OutputFile } from '../../shared/model/index.js';
import { ensureTaskDataset } from '../../shared/services/datasets.js';
import { TaskSpecCache } from '../../shared/services/task-specs.js';
import { ControlTableHistory, ControlTableRecorder } from '../../shared/throughput/index.js';
import {
  fileRef,
  outputFile,
  pilotRegistration,
  type RepositoryFixture,
  repositoryFixture,
  taskSpec,
  uniquePrefix,
} from '../../test/support/index.js';
import { DEAD_LETTER_ATTRIBUTES } from '../common/index.js';
import { createStatusHandler, type StatusDeps } from './handler.js';

/** Received messages as Lambda's SQS event source passes them (the embedded runtime's record builder). */
function sqsEvent(messages: readonly Message[], queueArn: string): SQSEvent {
  return {
    Records: messages.map((message) => toSqsEventRecord(message, queueArn, 'us-east-1')),
  } as unknown as SQSEvent;
}

const context = {
  functionName: 'status',
  awsRequestId: 'r-1',
  getRemainingTimeInMillis: () => 60_000,
} as Context;
let fixture: RepositoryFixture;
let queue: { url: string; arn: string; deadLetter: string };
let counter = 0;

async function createQueue(name: string): Promise<{ url: string; arn: string }> {
  const { sqs } = fixture.clients;
  const url = (await sqs.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl!;
  const attributes = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
  );
  return { url, arn: attributes.Attributes!.QueueArn! };
}

beforeAll(async () => {
  fixture = await repositoryFixture('fn-status');
  const prefix = uniquePrefix('status');
  const source = await createQueue(`${prefix}-status`);
  queue = { ...source, deadLetter: (await createQueue(`${prefix}-status-dlq`)).url };
});

/** A bus whose rule sends every WMS event to a queue the test reads. */
async function capturingBus(): Promise<{ busName: string; capture: string }> {
  const prefix = uniquePrefix('status-bus');
  const target = await createQueue(`${prefix}-events`);
  const { eventBridge } = fixture.clients;
  await eventBridge.send(new CreateEventBusCommand({ Name: prefix }));
  await eventBridge.send(
    new PutRuleCommand({
      Name: `${prefix}-rule`,
      EventBusName: prefix,
      EventPattern: '{"source":["spd.wms"]}',
    }),
  );
  await eventBridge.send(
    new PutTargetsCommand({
      Rule: `${prefix}-rule`,
      EventBusName: prefix,
      Targets: [{ Id: 'capture', Arn: target.arn }],
    }),
  );
  return { busName: prefix, capture: target.url };
}

const DATA_BUCKET = 'spd-data';

function deps(
  metrics: Metrics,
  busName: string,
  deadLetter = queue.deadLetter,
  clock?: () => Date,
): StatusDeps {
  return {
    results: {
      repos: fixture.repos,
      eventBusName: busName,
      dataBucket: DATA_BUCKET,
      taskSpecs: new TaskSpecCache(),
      retryPolicy: {},
    },
    sqs: fixture.clients.sqs,
    eventBridge: fixture.clients.eventBridge,
    logger: new Logger({ logLevel: 'SILENT' }),
    metrics,
    queue: {
      SOURCE_QUEUE_URL: queue.url,
      DEAD_LETTER_QUEUE_URL: deadLetter,
      SOURCE_MAX_RECEIVE_COUNT: 5,
    },
    throughput: new ControlTableRecorder(fixture.repos.control),
    ...(clock && { clock }),
  };
}

/** Sends the bodies to the status queue and receives them as Lambda would get them. */
async function deliver(bodies: readonly string[]): Promise<SQSEvent> {
  const { sqs } = fixture.clients;
  await sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: queue.url,
      Entries: bodies.map((body, index) => ({ Id: String(index), MessageBody: body })),
    }),
  );
  const messages = await receive(queue.url, bodies.length);
  return sqsEvent(messages, queue.arn);
}

async function receive(url: string, count: number): Promise<Message[]> {
  const messages: Message[] = [];
  const deadline = Date.now() + 10_000;
  while (messages.length < count && Date.now() < deadline) {
    const response = await fixture.clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    messages.push(...(response.Messages ?? []));
  }
  return messages;
}

/** `count` RUNNING jobs of one task, each with the DONE result its pilot would send. */
async function doneResults(count: number): Promise<JobResultMessage[]> {
  counter += 1;
  await fixture.repos.pilots.register(pilotRegistration('pilot-a'));
  const taskId = `t-status-${counter}`;
  await fixture.repos.tasks.create(
    taskId,
    taskSpec({ outputDataset: `out-${counter}`, logDataset: `logs-${counter}` }),
  );
  const { task } = await fixture.repos.tasks.transition({ taskId, from: 'REGISTERED', to: 'RUNNING' });
  // Registration creates the output and log datasets.
  await ensureTaskDataset(fixture.repos.datasets, task, 'output');
  await ensureTaskDataset(fixture.repos.datasets, task, 'log');
  const files = Array.from({ length: count }, (_, index) => fileRef(`in-${index}.raw`));
  const { jobs } = planJobs(task, files, { final: true });
  await fixture.repos.jobs.createJobs(task, jobs);
  const refs = jobs.map((job) => ({ jobId: job.jobId, taskId, attempt: 0 }));
  await fixture.repos.jobs.markQueued(refs);
  const results: JobResultMessage[] = [];
  for (const ref of refs) {
    const claimToken = await fixture.repos.jobs.claim({ ...ref, pilotId: 'pilot-a' });
    results.push({
      type: 'job.result',
      ...ref,
      pilotId: 'pilot-a',
      claimToken,
      at: '2025-06-01T12:00:00.000Z',
      outcome: 'DONE',
      errorCode: 0,
      outputs: [
        outputFile(`${ref.jobId}.root`, {
          location: { bucket: DATA_BUCKET, key: `outputs/${task.outputDataset}/${ref.jobId}.root` },
        }),
        outputFile(`${ref.jobId}.0.log`, {
          kind: 'log',
          location: { bucket: DATA_BUCKET, key: `outputs/${task.logDataset}/${ref.jobId}.0.log` },
        }),
      ] as OutputFile[],
      phaseTimes: {},
      wallMs: 10,
    });
  }
  return results;
}

describe('status handler', () => {
  it('dead-letters a bad message with its reason while the rest of its batch is applied', async () => {
    const [good, other] = await doneResults(2);
    const bad = JSON.stringify({ ...good, jobId: 'j-bad', claimToken: 'short' });
    const metrics = new Metrics({ namespace: 'test', serviceName: 'status' });
    const { busName } = await capturingBus();

    const response = await createStatusHandler(deps(metrics, busName))(
      await deliver([JSON.stringify(good), bad, JSON.stringify(other)]),
      context,
    );

    expect(response.batchItemFailures).toEqual([]);
    const [dead] = await receive(queue.deadLetter, 1);
    expect(dead?.Body).toBe(bad);
    expect(dead?.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.code]?.StringValue).toBe('VALIDATION');
    expect(dead?.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.reason]?.StringValue).toContain(
      'body.claimToken',
    );
    for (const result of [good!, other!])
      expect((await fixture.repos.jobs.get(result.jobId)).state).toBe('DONE');
    expect(metrics.serializeMetrics()._aws.CloudWatchMetrics[0]?.Metrics).toEqual([
      { Name: 'JobsDone', Unit: 'Count' },
    ]);
    expect(JSON.parse(JSON.stringify(metrics.serializeMetrics())).JobsDone).toEqual([1, 1]);
  });

  it('publishes the files of a batch of results together and changes nothing on redelivery', async () => {
    const results = await doneResults(10);
    const { busName, capture } = await capturingBus();
    const appliedAt = new Date('2025-06-01T12:00:30.000Z');
    const handler = createStatusHandler(
      deps(
        new Metrics({ namespace: 'test', serviceName: 'status' }),
        busName,
        queue.deadLetter,
        () => appliedAt,
      ),
    );
    const event = await deliver(results.map((result) => JSON.stringify(result)));
    fixture.calls.reset();

    const response = await handler(event, context);
    const calls = fixture.calls.snapshot();
    const redelivered = await handler(event, context);

    expect(response.batchItemFailures).toEqual([]);
    expect(redelivered.batchItemFailures).toEqual([]);
    const total = calls.reduce((sum, call) => sum + call.calls, 0);
    console.log(
      `status: ${total / results.length} AWS calls per DONE result:`,
      calls.map((call) => `${call.service}:${call.operation}=${call.calls / results.length}`).join(', '),
    );
    // One transaction for the batch (jobs, files, the task's and datasets' counters once); the
    // task read once (a cold container: a warm one reads it not at all); one PutEvents per five
    // results; one update of the minute's throughput record for the batch.
    expect(calls).toEqual([
      { service: 'DynamoDB', operation: 'GetItem', calls: 1 },
      { service: 'DynamoDB', operation: 'TransactWriteItems', calls: 1 },
      { service: 'DynamoDB', operation: 'UpdateItem', calls: 1 },
      { service: 'EventBridge', operation: 'PutEvents', calls: 2 },
    ]);
    // The redelivered results were duplicates: the minute counts each job once.
    const history = new ControlTableHistory(fixture.repos.control);
    expect(await history.recent(2, appliedAt)).toEqual([
      { minute: '2025-06-01T11:59:00.000Z', done: 0, failed: 0 },
      { minute: '2025-06-01T12:00:00.000Z', done: 10, failed: 0 },
    ]);
    expect(total / results.length).toBeLessThanOrEqual(0.5);
    const announced = await receive(capture, 40);
    const names = announced.map(
      (message) => (JSON.parse(message.Body!) as { detail: { file: { name: string } } }).detail.file.name,
    );
    // Each file twice: once applied, once announced again by the redelivery.
    expect(names.sort()).toEqual(
      results
        .flatMap((result) => result.outputs.map((file) => file.name))
        .flatMap((name) => [name, name])
        .sort(),
    );
    const task = await fixture.repos.tasks.get(results[0]!.taskId);
    expect(task.counts).toMatchObject({ RUNNING: 0, DONE: 10 });
  });

  it('applies a batch one by one when one of its results is stale, each with its own outcome', async () => {
    // Prepare
    const [first, second, third] = await doneResults(3);
    // A token that is not the claim's: a stale or foreign result, refused by its job's guard.
    const stale = { ...third!, claimToken: `${third!.claimToken.slice(0, -1)}x` };
    const metrics = new Metrics({ namespace: 'test', serviceName: 'status' });
    const { busName } = await capturingBus();
    const event = await deliver([first, second, stale].map((result) => JSON.stringify(result)));
    fixture.calls.reset();

    // Act
    const response = await createStatusHandler(deps(metrics, busName))(event, context);

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    // The batch's transaction, refused by the stale result, then one per result.
    expect(fixture.calls.count({ operation: 'TransactWriteItems' })).toBe(4);
    const states = await Promise.all(
      [first!, second!, third!].map(async (result) => (await fixture.repos.jobs.get(result.jobId)).state),
    );
    expect(states).toEqual(['DONE', 'DONE', 'RUNNING']);
    expect(JSON.parse(JSON.stringify(metrics.serializeMetrics())).JobsDone).toEqual([1, 1]);
    const task = await fixture.repos.tasks.get(first!.taskId);
    expect(task.counts).toMatchObject({ RUNNING: 1, DONE: 2 });
  });

  it('refuses a result naming a file outside its job place: nothing registered, job retried, dead-letter record kept', async () => {
    // Prepare: a batch of three results, one of which wrote its output over a DSM input.
    const [first, foreign, third] = await doneResults(3);
    const inputKey = 'datasets/raw-run42/in-1.raw';
    const refused = {
      ...foreign!,
      outputs: foreign!.outputs.map((file) =>
        file.kind === 'output' ? { ...file, location: { bucket: DATA_BUCKET, key: inputKey } } : file,
      ),
    };
    const metrics = new Metrics({ namespace: 'test', serviceName: 'status' });
    const { busName } = await capturingBus();
    const event = await deliver([first, refused, third].map((result) => JSON.stringify(result)));
    // A dead-letter queue of its own, so the records read are this test's.
    const deadLetter = (await createQueue(uniquePrefix('status-refused-dlq'))).url;
    const handler = createStatusHandler(deps(metrics, busName, deadLetter));

    // Act: the batch, then its redelivery.
    const response = await handler(event, context);
    const redelivered = await handler(event, context);

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(redelivered.batchItemFailures).toEqual([]);
    const job = await fixture.repos.jobs.get(refused.jobId);
    expect(job).toMatchObject({
      state: 'READY',
      attempt: 1,
      errorCode: ERRORS.STAGE_OUT_LOCATION_REFUSED.code,
    });
    expect(job.errorMessage).toContain(`s3://${DATA_BUCKET}/${inputKey}`);
    const task = await fixture.repos.tasks.get(refused.taskId);
    const registered = [
      ...(await fixture.repos.files.list(datasetUidFor(task.outputDataset))).items,
      ...(await fixture.repos.files.list(datasetUidFor(task.logDataset))).items,
    ].map((file) => file.name);
    expect(registered.sort()).toEqual(
      [first!, third!].flatMap((result) => result.outputs.map((file) => file.name)).sort(),
    );
    expect(task.counts).toMatchObject({ RUNNING: 0, DONE: 2, READY: 1 });
    const dead = await receive(deadLetter, 2);
    expect(dead.map((message) => message.Body)).toEqual([JSON.stringify(refused), JSON.stringify(refused)]);
    for (const message of dead) {
      expect(message.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.code]?.StringValue).toBe(
        'STAGE_OUT_LOCATION_REFUSED',
      );
      expect(message.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.reason]?.StringValue).toContain(
        `is at s3://${DATA_BUCKET}/${inputKey}`,
      );
    }
  });
});
