import { Logger } from '@aws-lambda-powertools/logger';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { ERRORS } from '../../shared/errors/index.js';
import { planJobs } from '../../shared/jobgen/index.js';
import type { JobRecord } from '../../shared/model/index.js';
import {
  fileRef,
  pilotRegistration,
  type RepositoryFixture,
  readTableStream,
  repositoryFixture,
  type TableChange,
  taskSpec,
  uniquePrefix,
} from '../../test/support/index.js';
import { createRankUpdaterHandler } from './handler.js';
import type { RankUpdateDeps } from './rank-update.js';

let fixture: RepositoryFixture;
let deps: RankUpdateDeps;

beforeAll(async () => {
  fixture = await repositoryFixture('rank');
  await fixture.repos.pilots.register(pilotRegistration('p-1'));
  // No aging, a strong retry boost and a long memory, so each step shows in the rank.
  deps = {
    repos: fixture.repos,
    rank: { alpha: 0, beta: 2, gamma: 0.9 },
    logger: new Logger({ serviceName: 'rank-test', logLevel: 'SILENT' }),
  };
});

/** A RUNNING task of base rank 3 with `count` jobs. */
async function taskWithJobs(count: number): Promise<{ taskId: string; jobs: JobRecord[] }> {
  const taskId = uniquePrefix('t');
  const { task } = await fixture.repos.tasks.create(taskId, taskSpec({ rank: 3 }));
  await fixture.repos.tasks.transition({ taskId, from: 'REGISTERED', to: 'RUNNING' });
  const files = Array.from({ length: count }, (_, index) => fileRef(`${taskId}_${index}.raw`));
  const plan = planJobs({ taskId, mode: 'map', filesPerJob: 1 }, files, { final: true });
  await fixture.repos.jobs.createJobs(task, plan.jobs);
  return { taskId, jobs: await fixture.repos.jobs.getMany(plan.jobs.map((job) => job.jobId)) };
}

/** Runs a job's current attempt and fails it retryably: READY again at attempt + 1. */
async function failAndRetry(job: { jobId: string; taskId: string; attempt: number }): Promise<void> {
  await fixture.repos.jobs.markQueued([job]);
  const claimToken = await fixture.repos.jobs.claim({ ...job, pilotId: 'p-1' });
  await fixture.repos.jobs.retry({
    ...job,
    from: 'RUNNING',
    claimToken,
    errorCode: ERRORS.PAYLOAD_NONZERO_EXIT.code,
  });
}

/** The table's stream records of these jobs becoming READY at attempt > 0, as Lambda delivers them. */
async function retryRecords(jobIds: readonly string[]): Promise<DynamoDBRecord[]> {
  const changes = await readTableStream(fixture.clients, fixture.tables.jobs);
  const image = (value: Record<string, unknown> | undefined) =>
    value === undefined
      ? undefined
      : (marshall(value) as NonNullable<DynamoDBRecord['dynamodb']>['NewImage']);
  return changes
    .map((change: TableChange, index) => ({ change, sequence: String(index).padStart(21, '0') }))
    .filter(
      ({ change }) =>
        jobIds.includes(String(change.keys.jobId)) &&
        change.newImage?.state === 'READY' &&
        Number(change.newImage.attempt) > 0,
    )
    .map(({ change, sequence }) => ({
      eventID: sequence,
      eventName: change.eventName,
      eventSource: 'aws:dynamodb',
      awsRegion: 'us-east-1',
      dynamodb: {
        Keys: image(change.keys),
        OldImage: image(change.oldImage),
        NewImage: image(change.newImage),
        SequenceNumber: sequence,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    }));
}

function event(records: DynamoDBRecord[]): DynamoDBStreamEvent {
  return { Records: records };
}

describe('the rank-updater', () => {
  it('raises a task rank once for all its retried jobs, and not again when the records come again', async () => {
    // Prepare
    const handle = createRankUpdaterHandler(deps);
    const { taskId, jobs } = await taskWithJobs(3);
    await failAndRetry(jobs[0]!);
    await failAndRetry(jobs[1]!);
    const records = await retryRecords([jobs[0]!.jobId, jobs[1]!.jobId]);

    // Act
    const first = await handle(event(records));
    const afterFirst = await fixture.repos.tasks.get(taskId);
    const redelivered = await handle(event(records));
    const afterRedelivery = await fixture.repos.tasks.get(taskId);

    // Assess: 3 + 2·2 retries.
    expect(records).toHaveLength(2);
    expect(first.batchItemFailures).toEqual([]);
    expect(afterFirst).toMatchObject({ baseRank: 3, rank: 7 });
    expect(redelivered.batchItemFailures).toEqual([]);
    expect(afterRedelivery).toMatchObject({ rank: 7, version: afterFirst.version });
  });

  it('counts a later retry of the same job, keeping part of the earlier boost', async () => {
    const handle = createRankUpdaterHandler(deps);
    const { taskId, jobs } = await taskWithJobs(2);
    await failAndRetry(jobs[0]!);
    await handle(event(await retryRecords([jobs[0]!.jobId])));
    await failAndRetry({ ...jobs[0]!, attempt: 1 });

    await handle(event(await retryRecords([jobs[0]!.jobId])));

    // First 3 + 2 = 5; then 3 + trunc(2·1 + 0.9·2) = 6 (the first retry's record was counted already).
    expect(await fixture.repos.tasks.get(taskId)).toMatchObject({ rank: 6 });
  });

  it('reports a record that does not validate and still applies the others', async () => {
    const handle = createRankUpdaterHandler(deps);
    const { taskId, jobs } = await taskWithJobs(1);
    await failAndRetry(jobs[0]!);
    const [valid] = await retryRecords([jobs[0]!.jobId]);
    const broken: DynamoDBRecord = {
      ...valid!,
      dynamodb: {
        ...valid!.dynamodb,
        SequenceNumber: '0',
        NewImage: { jobId: { S: 'j-x' }, attempt: { S: 'one' } },
      },
    };

    const result = await handle(event([broken, valid!]));

    expect(result.batchItemFailures).toEqual([{ itemIdentifier: '0' }]);
    expect(await fixture.repos.tasks.get(taskId)).toMatchObject({ rank: 5 });
  });

  it('leaves a finished task alone', async () => {
    const handle = createRankUpdaterHandler(deps);
    const { taskId, jobs } = await taskWithJobs(1);
    await failAndRetry(jobs[0]!);
    await fixture.repos.tasks.transition({ taskId, from: 'RUNNING', to: 'CANCELLED' });

    const result = await handle(event(await retryRecords([jobs[0]!.jobId])));

    expect(result.batchItemFailures).toEqual([]);
    expect(await fixture.repos.tasks.get(taskId)).toMatchObject({ rank: 3 });
  });
});
