/**
 * The data flow through the real control plane (the stack's template in the embedded runtime):
 * DSM events on the bus → file-input and dataset-close → job generation → dispatch → a pilot's
 * claims and results → status → task-lifecycle → the WMS's own dataset.close → the downstream
 * task of the workflow starts.
 */
import { createHash } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClaimResponse, JobMessage, type JobResultMessage } from '../../events/index.js';
import { awsClients } from '../../shared/aws/index.js';
import { datasetUidFor } from '../../shared/ids/index.js';
import { createRepositories, type Repositories } from '../../shared/repositories/index.js';
import {
  type ControlPlane,
  eventually,
  sha256Of,
  startControlPlane,
  taskSpec,
} from '../../test/support/index.js';

let plane: ControlPlane;
let repos: Repositories;

beforeAll(async () => {
  plane = await startControlPlane({
    tunables: { DATASET_CLOSE_BASE_SECONDS: '1', DATASET_CLOSE_MAX_SECONDS: '1' },
    scheduleScale: 0.05,
  });
  repos = createRepositories({ doc: awsClients().doc, tables: plane.tables });
}, 120_000);

afterAll(async () => {
  await plane?.stop();
});

const RAW = 'ds-e2e-raw';

function announce(name: string) {
  return plane.putEvent('file.input', 'spd.dsm', {
    datasetUid: RAW,
    datasetName: RAW,
    file: { name, url: `s3://spd-data/raw/${name}`, size: 1000, checksum: sha256Of(name) },
  });
}

/** Stores a file where a job writes it, as a pilot's stage-out does, and describes it for the result. */
async function upload(target: JobMessage['output'], name: string, kind: 'output' | 'log', content: string) {
  const location = { bucket: target.bucket, key: `${target.prefix}/${name}` };
  await awsClients().s3.send(
    new PutObjectCommand({ Bucket: location.bucket, Key: location.key, Body: content }),
  );
  const checksum = `sha256:${createHash('sha256').update(content).digest('hex')}`;
  return { name, kind, location, size: Buffer.byteLength(content), checksum };
}

/** A pilot's work on one job message: claim through the API, then a DONE result on the status queue. */
async function runOneJob(pilotId: string): Promise<boolean> {
  const { sqs } = awsClients();
  const { Messages = [] } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: plane.queueUrls.jobsCpu,
      MaxNumberOfMessages: 1,
      WaitTimeSeconds: 1,
    }),
  );
  const [message] = Messages;
  if (!message) return false;
  const job = JobMessage.parse(JSON.parse(message.Body!));
  const claim = await plane.api('POST', `/jobs/${job.jobId}/claim`, {
    body: { pilotId, attempt: job.attempt },
  });
  expect(claim.status).toBe(200);
  const { claimToken } = ClaimResponse.parse(claim.body);
  await sqs.send(
    new DeleteMessageCommand({ QueueUrl: plane.queueUrls.jobsCpu, ReceiptHandle: message.ReceiptHandle! }),
  );
  const outputName = job.inputs[0]!.name.replace('.raw', '.reco');
  const logName = `${job.jobId}.${job.attempt}.log`;
  const at = new Date().toISOString();
  const result: JobResultMessage = {
    type: 'job.result',
    jobId: job.jobId,
    taskId: job.taskId,
    attempt: job.attempt,
    pilotId,
    claimToken,
    at,
    outcome: 'DONE',
    errorCode: 0,
    exitCode: 0,
    outputs: [
      await upload(job.output, outputName, 'output', `reconstructed ${job.inputs[0]!.name}`),
      await upload(job.log, logName, 'log', `log of ${job.jobId}`),
    ],
    phaseTimes: { CLAIMED: at },
    wallMs: 5,
  };
  await sqs.send(
    new SendMessageCommand({ QueueUrl: plane.queueUrls.status, MessageBody: JSON.stringify(result) }),
  );
  return true;
}

describe('the data flow in the embedded control plane', () => {
  it('runs a two-stage workflow from DSM events to the downstream task’s jobs', async () => {
    const upstream = taskSpec({
      outputDataset: 'e2e-reco',
      logDataset: 'e2e-reco-logs',
      inputDatasetUid: RAW,
    });
    const downstream = taskSpec({
      name: 'merge-pass',
      mode: 'merge',
      filesPerJob: 2,
      inputDatasetUid: datasetUidFor('e2e-reco'),
      outputDataset: 'e2e-merged',
      logDataset: 'e2e-merged-logs',
    });
    await plane.putEvent('task.submitted', 'spd.wfms', { taskId: 't-e2e-reco', ...upstream });
    await plane.putEvent('task.submitted', 'spd.wfms', { taskId: 't-e2e-merge', ...downstream });
    await announce('a.raw');
    await announce('b.raw');
    await eventually(async () => expect((await repos.datasets.get(RAW)).fileCount).toBe(2), {
      timeoutMs: 30_000,
    });

    // The close comes before its last file: it is deferred, then accepted once c.raw is registered.
    await plane.putEvent('dataset.close', 'spd.dsm', { datasetUid: RAW, files: ['a.raw', 'b.raw', 'c.raw'] });
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect((await repos.datasets.get(RAW)).state).toBe('OPEN');
    await announce('c.raw');
    const generated = await eventually(
      async () => {
        const task = await repos.tasks.get('t-e2e-reco');
        expect(task).toMatchObject({ state: 'RUNNING', jobsTotal: 3, generationComplete: true });
        return task;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    expect((await repos.datasets.get(RAW)).state).toBe('CLOSED');
    expect(generated.counts.READY + generated.counts.QUEUED).toBe(3);

    const registered = await plane.api('POST', '/pilots', {
      body: { pilotId: 'pilot-e2e', host: 'node01', device: 'CPU', slots: 4, version: '1.0.0' },
    });
    expect(registered.status).toBe(200);
    let ran = 0;
    await eventually(
      async () => {
        if (await runOneJob('pilot-e2e')) ran += 1;
        expect(ran).toBe(3);
      },
      { timeoutMs: 90_000, intervalMs: 200 },
    );

    const merge = await eventually(
      async () => {
        const task = await repos.tasks.get('t-e2e-merge');
        expect(task).toMatchObject({ state: 'RUNNING', jobsTotal: 2, generationComplete: true });
        return task;
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    expect(merge.taskId).toBe('t-e2e-merge');
    expect(await repos.tasks.get('t-e2e-reco')).toMatchObject({ state: 'DONE', counts: { DONE: 3 } });
    expect(await repos.datasets.get(datasetUidFor('e2e-reco'))).toMatchObject({
      state: 'CLOSED',
      fileCount: 3,
    });
    expect(await repos.datasets.get(datasetUidFor('e2e-reco-logs'))).toMatchObject({
      state: 'CLOSED',
      fileCount: 3,
    });
    const jobs = await repos.jobs.listByTask('t-e2e-merge');
    expect(jobs.items.map((job) => job.inputs.map((file) => file.name)).sort()).toEqual([
      ['a.reco', 'b.reco'],
      ['c.reco'],
    ]);
  }, 300_000);
});
