import { Logger } from '@aws-lambda-powertools/logger';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import { CreateEventBusCommand, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
} from '@aws-sdk/client-sqs';
import type { Context, DynamoDBStreamEvent } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { toStreamEventRecord } from '../../infra/local/index.js';
import { DEFAULT_COUNTER_SHARDS } from '../../shared/counters/index.js';
import { datasetUidFor } from '../../shared/ids/index.js';
import { planJobs } from '../../shared/jobgen/index.js';
import {
  fileRef,
  newFile,
  pilotRegistration,
  type RepositoryFixture,
  repositoryFixture,
  taskSpec,
  uniquePrefix,
} from '../../test/support/index.js';
import { createTaskLifecycleHandler } from './handler.js';

const context = {
  functionName: 'task-lifecycle',
  awsRequestId: 'r-1',
  getRemainingTimeInMillis: () => 60_000,
} as Context;
let fixture: RepositoryFixture;
let streamArn: string;
let busName: string;
let capture: string;
let seenRecords = 0;

beforeAll(async () => {
  fixture = await repositoryFixture('fn-task-lifecycle');
  const { dynamo, sqs, eventBridge } = fixture.clients;
  const table = await dynamo.send(new DescribeTableCommand({ TableName: fixture.tables.tasks }));
  streamArn = table.Table!.LatestStreamArn!;
  busName = uniquePrefix('lifecycle-bus');
  capture = (await sqs.send(new CreateQueueCommand({ QueueName: `${busName}-events` }))).QueueUrl!;
  const captureArn = (
    await sqs.send(new GetQueueAttributesCommand({ QueueUrl: capture, AttributeNames: ['QueueArn'] }))
  ).Attributes!.QueueArn!;
  await eventBridge.send(new CreateEventBusCommand({ Name: busName }));
  await eventBridge.send(
    new PutRuleCommand({
      Name: `${busName}-rule`,
      EventBusName: busName,
      EventPattern: '{"source":["spd.wms"]}',
    }),
  );
  await eventBridge.send(
    new PutTargetsCommand({
      Rule: `${busName}-rule`,
      EventBusName: busName,
      Targets: [{ Id: 'capture', Arn: captureArn }],
    }),
  );
});

/** The Tasks stream records written since the last call, as Lambda's event source would pass them. */
async function newStreamRecords(): Promise<DynamoDBStreamEvent> {
  const { streams } = fixture.clients;
  const stream = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
  const records: StreamRecord[] = [];
  for (const shard of stream.StreamDescription?.Shards ?? []) {
    let iterator = (
      await streams.send(
        new GetShardIteratorCommand({
          StreamArn: streamArn,
          ShardId: shard.ShardId,
          ShardIteratorType: 'TRIM_HORIZON',
        }),
      )
    ).ShardIterator;
    while (iterator) {
      const page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator }));
      records.push(...(page.Records ?? []));
      iterator = (page.Records ?? []).length > 0 ? page.NextShardIterator : undefined;
    }
  }
  const fresh = records.slice(seenRecords);
  seenRecords = records.length;
  return {
    Records: fresh.map((record) => toStreamEventRecord(record, streamArn, 'us-east-1')),
  } as DynamoDBStreamEvent;
}

async function receiveEvents(
  count: number,
): Promise<{ 'detail-type': string; detail: Record<string, unknown> }[]> {
  const messages: Message[] = [];
  const deadline = Date.now() + 10_000;
  while (messages.length < count && Date.now() < deadline) {
    const response = await fixture.clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: capture, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    messages.push(...(response.Messages ?? []));
  }
  return messages.map((message) => JSON.parse(message.Body!));
}

describe('task-lifecycle handler', () => {
  it('finishes a task from its stream, closes its datasets with dataset.close, and repeats nothing on redelivery', async () => {
    const handler = createTaskLifecycleHandler({
      completion: {
        repos: fixture.repos,
        eventBusName: busName,
        // Its datasets hold one file each: closed inline, nothing is written to the bucket.
        checklists: { s3: fixture.clients.s3, bucket: uniquePrefix('lifecycle-data'), inlineMaxFiles: 5_000 },
      },
      eventBridge: fixture.clients.eventBridge,
      logger: new Logger({ logLevel: 'SILENT' }),
    });
    const taskId = 't-lifecycle-1';
    await fixture.repos.tasks.create(
      taskId,
      taskSpec({ outputDataset: 'life-out', logDataset: 'life-logs' }),
    );
    const { task } = await fixture.repos.tasks.transition({ taskId, from: 'REGISTERED', to: 'RUNNING' });
    const [job] = planJobs(task, [fileRef('in.raw')], { final: true }).jobs;
    await fixture.repos.jobs.createJobs(task, [job!]);
    await fixture.repos.tasks.markGenerationComplete(taskId);
    const ref = { jobId: job!.jobId, taskId, attempt: 0 };
    await fixture.repos.jobs.markQueued([ref]);
    await fixture.repos.pilots.register(pilotRegistration('pilot-a'));
    const claimToken = await fixture.repos.jobs.claim({ ...ref, pilotId: 'pilot-a' });
    const outputUid = datasetUidFor('life-out');
    await fixture.repos.datasets.create({
      uid: outputUid,
      name: 'life-out',
      kind: 'output',
      producerTaskId: taskId,
    });
    await fixture.repos.files.registerMany([
      newFile(outputUid, 'result.root', { kind: 'output', jobId: job!.jobId }),
    ]);
    await fixture.repos.jobs.complete({ ...ref, claimToken, outputs: [] });

    const progress = await handler(await newStreamRecords(), context);
    const finish = await newStreamRecords();
    const finished = await handler(finish, context);
    const redelivered = await handler(finish, context);

    expect([progress, finished, redelivered].map((response) => response.batchItemFailures)).toEqual([
      [],
      [],
      [],
    ]);
    expect((await fixture.repos.tasks.get(taskId)).state).toBe('DONE');
    // The task item's change of state and its counter shards' copies of the state.
    expect(finish.Records).toHaveLength(1 + DEFAULT_COUNTER_SHARDS);
    const events = await receiveEvents(7);
    const summary = events.map((event) =>
      event['detail-type'] === 'task.status-changed'
        ? `${event['detail-type']} ${event.detail.from}->${event.detail.to}`
        : `${event['detail-type']} ${event.detail.datasetName}: ${(event.detail.files as string[]).join(',')}`,
    );
    // The RUNNING transition and the redelivered finish are announced too; the redelivery repeats its events only.
    expect(summary.sort()).toEqual(
      [
        'task.status-changed REGISTERED->RUNNING',
        'task.status-changed RUNNING->DONE',
        'task.status-changed RUNNING->DONE',
        'dataset.close life-out: result.root',
        'dataset.close life-out: result.root',
        'dataset.close life-logs: ',
        'dataset.close life-logs: ',
      ].sort(),
    );
    expect((await fixture.repos.datasets.get(outputUid)).state).toBe('CLOSED');
  });
});
