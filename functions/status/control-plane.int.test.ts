/**
 * A pilot's claims and results through the real control plane (the stack's template in the
 * embedded runtime): a failed attempt is retried after its stored backoff and not before, a
 * claim naming its task is accepted, a pilot declared LOST cannot claim, and a result naming a
 * file outside its job's place registers nothing.
 */
import {
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ClaimResponse,
  ErrorResponse,
  JobMessage,
  type JobResultMessage,
  JobView,
} from '../../events/index.js';
import { explainJob } from '../../infra/cli/why.js';
import { awsClients } from '../../shared/aws/index.js';
import { ERRORS } from '../../shared/errors/index.js';
import { STORAGE_KEY_PREFIXES } from '../../shared/model/index.js';
import { createRepositories, type Repositories } from '../../shared/repositories/index.js';
import {
  type ControlPlane,
  eventually,
  sha256Of,
  startControlPlane,
  taskSpec,
} from '../../test/support/index.js';

/** The backoff of a first retry: long enough to see the job wait, short enough for a test. */
const RETRY_BASE_SECONDS = 4;

let plane: ControlPlane;
let repos: Repositories;

beforeAll(async () => {
  plane = await startControlPlane({
    tunables: { JOB_RETRY_BASE_SECONDS: String(RETRY_BASE_SECONDS) },
    scheduleScale: 0.05,
  });
  repos = createRepositories({ doc: awsClients().doc, tables: plane.tables });
}, 120_000);

afterAll(async () => {
  await plane?.stop();
});

async function registerPilot(pilotId: string): Promise<void> {
  const registered = await plane.api('POST', '/pilots', {
    body: { pilotId, host: 'node01', device: 'CPU', slots: 1, version: '1.0.0' },
  });
  expect(registered.status).toBe(200);
}

/** The next job message on the CPU queue, deleted from it as a pilot does once it has claimed. */
/**
 * A closed input dataset `ds-cp-<name>` of one file, a live pilot, and the task `t-cp-<name>`
 * over the input; returns the input's uid.
 */
async function taskOverOneFile(name: string, pilotId: string, maxRetries: number): Promise<string> {
  const input = `ds-cp-${name}`;
  await plane.putEvent('file.input', 'spd.dsm', {
    datasetUid: input,
    datasetName: input,
    file: { name: 'only.raw', url: 's3://spd-data/raw/only.raw', size: 1000, checksum: sha256Of('only.raw') },
  });
  await plane.putEvent('dataset.close', 'spd.dsm', { datasetUid: input, files: ['only.raw'] });
  await registerPilot(pilotId);
  const spec = taskSpec({
    inputDatasetUid: input,
    outputDataset: `cp-${name}-out`,
    logDataset: `cp-${name}-logs`,
  });
  await plane.putEvent('task.submitted', 'spd.wfms', { taskId: `t-cp-${name}`, ...spec, maxRetries });
  return input;
}

async function nextJobMessage(): Promise<JobMessage> {
  const { sqs } = awsClients();
  return eventually(
    async () => {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: plane.queueUrls.jobsCpu,
          MaxNumberOfMessages: 1,
          WaitTimeSeconds: 1,
        }),
      );
      const [message] = Messages;
      expect(message).toBeDefined();
      await sqs.send(
        new DeleteMessageCommand({
          QueueUrl: plane.queueUrls.jobsCpu,
          ReceiptHandle: message!.ReceiptHandle!,
        }),
      );
      return JobMessage.parse(JSON.parse(message!.Body!));
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
}

async function claim(job: JobMessage, pilotId: string) {
  return plane.api('POST', `/jobs/${job.jobId}/claim`, {
    body: { pilotId, attempt: job.attempt, taskId: job.taskId },
  });
}

async function reportFailure(job: JobMessage, pilotId: string, claimToken: string): Promise<void> {
  const at = new Date().toISOString();
  const result: JobResultMessage = {
    type: 'job.result',
    jobId: job.jobId,
    taskId: job.taskId,
    attempt: job.attempt,
    pilotId,
    claimToken,
    at,
    outcome: 'FAILED',
    errorCode: ERRORS.PAYLOAD_NONZERO_EXIT.code,
    errorMessage: 'exit status 3',
    exitCode: 3,
    outputs: [
      {
        name: `${job.jobId}.${job.attempt}.log`,
        kind: 'log',
        location: { bucket: job.log.bucket, key: `${job.log.prefix}/${job.jobId}.${job.attempt}.log` },
        size: 12,
        checksum: sha256Of(`log of ${job.jobId}`),
      },
    ],
    phaseTimes: { CLAIMED: at },
    wallMs: 5,
  };
  await awsClients().sqs.send(
    new SendMessageCommand({ QueueUrl: plane.queueUrls.status, MessageBody: JSON.stringify(result) }),
  );
}

describe('claims and results in the embedded control plane', () => {
  it('dispatches a failed attempt again only after its backoff, and refuses a claim from a LOST pilot', async () => {
    // Prepare: a closed input of one file, a live pilot and a task over the input.
    await taskOverOneFile('backoff', 'cp-pilot-live', 2);

    // Act 1: the pilot claims naming the task, runs the job and reports a retryable failure.
    const first = await nextJobMessage();
    const firstClaim = await claim(first, 'cp-pilot-live');
    expect(firstClaim.status).toBe(200);
    const { claimToken } = ClaimResponse.parse(firstClaim.body);
    await reportFailure(first, 'cp-pilot-live', claimToken);

    // Assess 1: the next attempt is READY with its retry time, then QUEUED only once it has passed.
    const retried = await eventually(
      async () => {
        const job = await repos.jobs.get(first.jobId);
        expect(job).toMatchObject({ attempt: 1, errorCode: ERRORS.PAYLOAD_NONZERO_EXIT.code });
        expect(job.retryAfter).toBeDefined();
        return job;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    const second = await nextJobMessage();
    const queued = await repos.jobs.get(first.jobId);
    expect(second).toMatchObject({ jobId: first.jobId, attempt: 1 });
    expect(Date.parse(queued.queuedAt!)).toBeGreaterThanOrEqual(Date.parse(retried.retryAfter!));
    expect(queued.retryAfter).toBeUndefined();
    const logs = await repos.files.list(second.log.datasetUid);
    expect(logs.items.map((file) => file.name)).toEqual([`${first.jobId}.0.log`]);

    // Act 2: a pilot declared LOST tries to claim the next attempt, then the live pilot does.
    await registerPilot('cp-pilot-lost');
    await repos.pilots.transition({ pilotId: 'cp-pilot-lost', from: 'ACTIVE', to: 'LOST' });
    const refused = await claim(second, 'cp-pilot-lost');
    const accepted = await claim(second, 'cp-pilot-live');

    // Assess 2
    expect(refused.status).toBe(409);
    expect(ErrorResponse.parse(refused.body).error.code).toBe('PILOT_NOT_LIVE');
    expect(accepted.status).toBe(200);
    expect(await repos.jobs.get(first.jobId)).toMatchObject({
      state: 'RUNNING',
      attempt: 1,
      pilotId: 'cp-pilot-live',
    });
  }, 180_000);

  it('registers nothing from a result whose output is not at its job place, and says why', async () => {
    // Prepare: a one-file input, a live pilot and a task; the pilot claims the job.
    const input = await taskOverOneFile('foreign', 'cp-pilot-foreign', 1);
    const job = await nextJobMessage();
    const { claimToken } = ClaimResponse.parse((await claim(job, 'cp-pilot-foreign')).body);

    // Act: a DONE result whose output overwrote a DSM input, its log where it belongs.
    const inputKey = `${STORAGE_KEY_PREFIXES.inputs}/${input}/only.raw`;
    const at = new Date().toISOString();
    const file = (name: string, kind: 'output' | 'log', key: string) => ({
      name,
      kind,
      location: { bucket: job.output.bucket, key },
      size: 10,
      checksum: sha256Of(name),
    });
    const result: JobResultMessage = {
      type: 'job.result',
      jobId: job.jobId,
      taskId: job.taskId,
      attempt: job.attempt,
      pilotId: 'cp-pilot-foreign',
      claimToken,
      at,
      outcome: 'DONE',
      errorCode: 0,
      exitCode: 0,
      outputs: [
        file('only.raw', 'output', inputKey),
        file(`${job.jobId}.0.log`, 'log', `${job.log.prefix}/${job.jobId}.0.log`),
      ],
      phaseTimes: { CLAIMED: at },
      wallMs: 5,
    };
    await awsClients().sqs.send(
      new SendMessageCommand({ QueueUrl: plane.queueUrls.status, MessageBody: JSON.stringify(result) }),
    );

    // Assess: the job is retried with the refusal, nothing is registered, and the refusal is
    // in wms why and in the status dead-letter queue.
    const where = `s3://${job.output.bucket}/${inputKey}`;
    await eventually(
      async () =>
        expect(await repos.jobs.get(job.jobId)).toMatchObject({
          attempt: 1,
          errorCode: ERRORS.STAGE_OUT_LOCATION_REFUSED.code,
        }),
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    expect((await repos.files.list(job.output.datasetUid)).items).toEqual([]);
    expect((await repos.files.list(job.log.datasetUid)).items).toEqual([]);
    const view = await plane.api('GET', `/jobs/${job.jobId}`);
    expect(view.status).toBe(200);
    const why = explainJob(JobView.parse(view.body), new Date());
    expect(why).toContain(`STAGE_OUT_LOCATION_REFUSED (${ERRORS.STAGE_OUT_LOCATION_REFUSED.code})`);
    expect(why).toContain(`output "only.raw" is at ${where}`);
    const dead = await eventually(
      async () => {
        const { Messages = [] } = await awsClients().sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: plane.deadLetterQueueUrls.status,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 1,
            MessageAttributeNames: ['All'],
          }),
        );
        const ours = Messages.find((message: Message) => message.Body?.includes(job.jobId));
        expect(ours).toBeDefined();
        return ours!;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(dead.MessageAttributes?.['wms-error-code']?.StringValue).toBe('STAGE_OUT_LOCATION_REFUSED');
    expect(dead.MessageAttributes?.['wms-error-reason']?.StringValue).toContain(where);
  }, 180_000);
});
