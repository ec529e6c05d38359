import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  QueueDoesNotExist,
} from '@aws-sdk/client-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ClaimResponse } from '../../events/pilot.js';
import {
  fileRef,
  type RepositoryFixture,
  repositoryFixture,
  taskSpec,
  uniquePrefix,
} from '../../test/support/index.js';
import {
  AlreadyClaimedError,
  NotClaimableError,
  NotFoundError,
  PilotNotLiveError,
  StaleAttemptError,
} from '../errors/index.js';
import type { JobRecord } from '../model/index.js';
import {
  claimJob,
  controlQueueName,
  type PilotServiceDeps,
  recordHeartbeat,
  registerPilot,
} from './index.js';

let fixture: RepositoryFixture;
let deps: PilotServiceDeps;
let deadLetterArn: string;
let counter = 0;
const logger = new Logger({ logLevel: 'SILENT' });
const NOW = new Date('2030-03-01T10:00:00.000Z');

beforeAll(async () => {
  fixture = await repositoryFixture('svc-pilots');
  const prefix = uniquePrefix('svc-pilots');
  await fixture.clients.sqs.send(new CreateQueueCommand({ QueueName: `${prefix}-control-dlq` }));
  deadLetterArn = `arn:aws:sqs:us-east-1:123456789012:${prefix}-control-dlq`;
  deps = {
    repos: fixture.repos,
    sqs: fixture.clients.sqs,
    controlQueuePrefix: `${prefix}-pilot-`,
    controlDeadLetterArn: deadLetterArn,
    heartbeatIntervalSeconds: 30,
    logger,
    clock: () => NOW,
  };
});

function registration(pilotId: string) {
  return { pilotId, host: 'node07.spd.local', device: 'GPU' as const, slots: 4, version: '1.2.0' };
}

function nextPilotId(): string {
  counter += 1;
  return `node07-${counter}`;
}

async function queueExists(queueName: string): Promise<boolean> {
  try {
    await fixture.clients.sqs.send(new GetQueueUrlCommand({ QueueName: queueName }));
    return true;
  } catch (error) {
    if (error instanceof QueueDoesNotExist) return false;
    throw error;
  }
}

async function queuedJob(): Promise<JobRecord> {
  counter += 1;
  const taskId = `t-claims-${counter}`;
  const { task } = await fixture.repos.tasks.create(taskId, taskSpec());
  await fixture.repos.tasks.transition({ taskId, from: 'REGISTERED', to: 'RUNNING' });
  const jobId = `j-claims-${counter}`;
  await fixture.repos.jobs.createJobs(task, [{ jobId, inputs: [fileRef('run42_00001.raw')] }]);
  const job = await fixture.repos.jobs.get(jobId);
  await fixture.repos.jobs.markQueued([job]);
  return fixture.repos.jobs.get(jobId);
}

describe('registerPilot', () => {
  it('creates the pilot ACTIVE with its own dead-lettered, short-lived control queue, once', async () => {
    // Prepare
    const pilotId = nextPilotId();

    // Act
    const first = await registerPilot(deps, registration(pilotId));
    const again = await registerPilot(deps, registration(pilotId));

    // Assess
    expect(first).toEqual({ pilotId, controlQueueUrl: expect.any(String), heartbeatIntervalSeconds: 30 });
    expect(again).toEqual(first);
    expect(first.controlQueueUrl.endsWith(`/${deps.controlQueuePrefix}${pilotId}`)).toBe(true);
    const { Attributes = {} } = await fixture.clients.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: first.controlQueueUrl, AttributeNames: ['All'] }),
    );
    expect(JSON.parse(Attributes.RedrivePolicy!)).toEqual({
      deadLetterTargetArn: deadLetterArn,
      maxReceiveCount: 5,
    });
    expect(Attributes.MessageRetentionPeriod).toBe('600');
    expect(await fixture.repos.pilots.get(pilotId)).toMatchObject({
      state: 'ACTIVE',
      device: 'GPU',
      slots: 4,
      busySlots: 0,
      controlQueueUrl: first.controlQueueUrl,
    });
  });

  it('names the queue of an id SQS cannot hold by its hash', async () => {
    const pilotId = `node07.spd.local:${nextPilotId()}`;
    const { controlQueueUrl } = await registerPilot(deps, registration(pilotId));
    expect(controlQueueUrl.endsWith(`/${controlQueueName(deps.controlQueuePrefix, pilotId)}`)).toBe(true);
    expect(controlQueueUrl).toMatch(/_[0-9a-f]{26}$/);
  });

  it('refuses a pilot declared LOST', async () => {
    const pilotId = nextPilotId();
    await registerPilot(deps, registration(pilotId));
    await fixture.repos.pilots.transition({ pilotId, from: 'ACTIVE', to: 'LOST' });
    await expect(registerPilot(deps, registration(pilotId))).rejects.toBeInstanceOf(PilotNotLiveError);
  });
});

describe('recordHeartbeat', () => {
  it('records liveness with the control plane clock and the reported busy slots', async () => {
    const pilotId = nextPilotId();
    await registerPilot(deps, registration(pilotId));
    const beat = { pilotId, state: 'IDLE' as const, busySlots: 0, jobs: [], at: '2001-01-01T00:00:00.000Z' };
    expect(await recordHeartbeat(deps, beat)).toEqual({ pilotId, state: 'IDLE' });
    expect(await fixture.repos.pilots.get(pilotId)).toMatchObject({
      state: 'IDLE',
      busySlots: 0,
      lastHeartbeatAt: NOW.toISOString(),
    });
  });

  it('refuses the heartbeat of a pilot declared LOST, so it stops', async () => {
    const pilotId = nextPilotId();
    await registerPilot(deps, registration(pilotId));
    await fixture.repos.pilots.transition({ pilotId, from: 'ACTIVE', to: 'LOST' });
    const beat = { pilotId, state: 'ACTIVE' as const, busySlots: 2, jobs: [], at: NOW.toISOString() };
    const refusal = recordHeartbeat(deps, beat);
    await expect(refusal).rejects.toBeInstanceOf(PilotNotLiveError);
    await expect(refusal).rejects.toMatchObject({ state: 'LOST' });
  });

  it('ends an exiting pilot and deletes its control queue; a repeat answers the same', async () => {
    // Prepare
    const pilotId = nextPilotId();
    await registerPilot(deps, registration(pilotId));
    const queueName = controlQueueName(deps.controlQueuePrefix, pilotId);
    const beat = { pilotId, state: 'EXITED' as const, busySlots: 0, jobs: [], at: NOW.toISOString() };

    // Act
    const first = await recordHeartbeat(deps, beat);
    const repeat = await recordHeartbeat(deps, beat);

    // Assess
    expect(first).toEqual({ pilotId, state: 'EXITED' });
    expect(repeat).toEqual(first);
    expect((await fixture.repos.pilots.get(pilotId)).state).toBe('EXITED');
    expect(await queueExists(queueName)).toBe(false);
    const afterExit = recordHeartbeat(deps, { ...beat, state: 'ACTIVE' });
    await expect(afterExit).rejects.toBeInstanceOf(PilotNotLiveError);
  });

  it('does not know a pilot that never registered', async () => {
    const beat = {
      pilotId: 'never-registered',
      state: 'ACTIVE' as const,
      busySlots: 0,
      jobs: [],
      at: NOW.toISOString(),
    };
    await expect(recordHeartbeat(deps, beat)).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('claimJob', () => {
  it('lets exactly one of 20 concurrent pilots claim a job; the others are told it is claimed', async () => {
    // Prepare
    const job = await queuedJob();
    const pilots = Array.from({ length: 20 }, (_, index) => `claimer-${counter}-${index}`);
    for (const pilotId of pilots) await registerPilot(deps, registration(pilotId));

    // Act
    const outcomes = await Promise.allSettled(
      pilots.map((pilotId) => claimJob(deps, job.jobId, { pilotId, attempt: job.attempt })),
    );

    // Assess
    const won = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
    const refused = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason] : []));
    expect(won).toHaveLength(1);
    expect(ClaimResponse.parse(won[0])).toEqual({
      jobId: job.jobId,
      attempt: 0,
      claimToken: expect.any(String),
    });
    expect(refused).toHaveLength(19);
    expect(refused.every((error) => error instanceof AlreadyClaimedError)).toBe(true);
    const stored = await fixture.repos.jobs.get(job.jobId);
    expect(stored).toMatchObject({ state: 'RUNNING', claimToken: won[0]!.claimToken, phase: 'CLAIMED' });
    expect(pilots).toContain(stored.pilotId);
    expect((await fixture.repos.tasks.get(job.taskId)).counts).toMatchObject({ QUEUED: 0, RUNNING: 1 });
  });

  it('answers a retried claim whose first answer was lost with the same token', async () => {
    // Prepare
    const job = await queuedJob();
    const pilotId = `retrier-${counter}`;
    await registerPilot(deps, registration(pilotId));
    const claim = { pilotId, attempt: job.attempt, taskId: job.taskId, requestId: randomUUID() };
    const first = await claimJob(deps, job.jobId, claim);

    // Act
    const retried = await claimJob(deps, job.jobId, claim);

    // Assess
    expect(retried).toEqual(first);
    await expect(claimJob(deps, job.jobId, { ...claim, requestId: randomUUID() })).rejects.toThrow(
      AlreadyClaimedError,
    );
    expect((await fixture.repos.tasks.get(job.taskId)).counts).toMatchObject({ QUEUED: 0, RUNNING: 1 });
  });

  it('costs one AWS call when the claim names the task, two when the job must be read for it', async () => {
    // Prepare
    const pilotId = nextPilotId();
    await registerPilot(deps, registration(pilotId));
    const [withTask, withoutTask] = [await queuedJob(), await queuedJob()];

    // Act
    fixture.calls.reset();
    await claimJob(deps, withTask.jobId, { pilotId, attempt: 0, taskId: withTask.taskId });
    const named = fixture.calls.snapshot();
    fixture.calls.reset();
    await claimJob(deps, withoutTask.jobId, { pilotId, attempt: 0 });
    const read = fixture.calls.snapshot();

    // Assess
    console.info(`AWS calls per claim: ${named.reduce((sum, call) => sum + call.calls, 0)}`, named);
    expect(named).toEqual([{ service: 'DynamoDB', operation: 'TransactWriteItems', calls: 1 }]);
    expect(read).toEqual([
      { service: 'DynamoDB', operation: 'GetItem', calls: 1 },
      { service: 'DynamoDB', operation: 'TransactWriteItems', calls: 1 },
    ]);
    for (const job of [withTask, withoutTask]) {
      expect(await fixture.repos.jobs.get(job.jobId)).toMatchObject({ state: 'RUNNING', pilotId });
    }
  });

  it('refuses a claim for an older attempt, for a job no longer queued, and for an unknown job', async () => {
    const pilotId = nextPilotId();
    await registerPilot(deps, registration(pilotId));
    for (const taskOf of [(_job: JobRecord) => ({}), (job: JobRecord) => ({ taskId: job.taskId })]) {
      const job = await queuedJob();
      await expect(claimJob(deps, job.jobId, { pilotId, attempt: 1, ...taskOf(job) })).rejects.toBeInstanceOf(
        StaleAttemptError,
      );
      await fixture.repos.jobs.cancel([{ ...job, from: 'QUEUED' }]);
      const cancelled = claimJob(deps, job.jobId, { pilotId, attempt: 0, ...taskOf(job) });
      await expect(cancelled).rejects.toBeInstanceOf(NotClaimableError);
      await expect(cancelled).rejects.toMatchObject({ state: 'CANCELLED' });
      await expect(
        claimJob(deps, 'j-unknown', { pilotId, attempt: 0, ...taskOf(job) }),
      ).rejects.toBeInstanceOf(NotFoundError);
    }
  });

  it('refuses a pilot declared LOST, which must stop, and leaves the job to another pilot', async () => {
    // Prepare
    const lost = nextPilotId();
    const live = nextPilotId();
    await registerPilot(deps, registration(lost));
    await registerPilot(deps, registration(live));
    await fixture.repos.pilots.transition({ pilotId: lost, from: 'ACTIVE', to: 'LOST' });
    const job = await queuedJob();

    // Act
    const refused = claimJob(deps, job.jobId, { pilotId: lost, attempt: 0, taskId: job.taskId });

    // Assess
    await expect(refused).rejects.toBeInstanceOf(PilotNotLiveError);
    await expect(refused).rejects.toMatchObject({ state: 'LOST' });
    expect((await fixture.repos.jobs.get(job.jobId)).state).toBe('QUEUED');
    const won = await claimJob(deps, job.jobId, { pilotId: live, attempt: 0, taskId: job.taskId });
    expect(won.claimToken).toEqual(expect.any(String));
  });
});
