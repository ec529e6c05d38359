import { createHash } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  fileRef,
  pilotRegistration,
  type RepositoryFixture,
  repositoryFixture,
  taskSpec,
  uniquePrefix,
} from '../../test/support/index.js';
import { DEFAULT_COUNTER_SHARDS, shardOf } from '../counters/index.js';
import { datasetUidFor } from '../ids/index.js';
import { planJobs } from '../jobgen/index.js';
import type { JobRecord, OutputFile, TaskRecord } from '../model/index.js';
import { counterShardKey } from '../repositories/counter-shards.js';
import { type AuditDeps, headObject, runAudit } from './audit.js';

let fixture: RepositoryFixture;
let bucket: string;
let deps: AuditDeps;

beforeAll(async () => {
  fixture = await repositoryFixture('audit');
  bucket = uniquePrefix('audit').toLowerCase();
  await fixture.clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  deps = {
    repos: fixture.repos,
    s3: fixture.clients.s3,
    logger: new Logger({ serviceName: 'audit-test', logLevel: 'SILENT' }),
    eventBusName: 'wms-bus',
  };
});

/** Stores `content` as the pilot does (the store keeps its SHA-256) and describes it as a job output. */
async function storeOutput(
  dataset: string,
  name: string,
  kind: 'output' | 'log',
  content: string,
): Promise<OutputFile> {
  const key = `datasets/${dataset}/${name}`;
  await fixture.clients.s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: content, ChecksumAlgorithm: 'SHA256' }),
  );
  const hex = createHash('sha256').update(content).digest('hex');
  return {
    name,
    kind,
    location: { bucket, key },
    size: Buffer.byteLength(content),
    checksum: `sha256:${hex}`,
  };
}

interface World {
  task: TaskRecord;
  done: JobRecord;
  running: JobRecord;
  outputs: OutputFile[];
}

/**
 * A RUNNING task with output and log datasets and three jobs: one DONE whose output and log
 * are stored and (unless told otherwise) registered, one RUNNING on a live pilot, one READY.
 */
async function world(label: string, options: { registerOutputs?: boolean } = {}): Promise<World> {
  const taskId = uniquePrefix(label);
  const spec = taskSpec({ outputDataset: `${taskId}-out`, logDataset: `${taskId}-logs` });
  const { task } = await fixture.repos.tasks.create(taskId, spec);
  await fixture.repos.tasks.transition({ taskId, from: 'REGISTERED', to: 'RUNNING' });
  for (const [name, kind] of [
    [spec.outputDataset, 'output'],
    [spec.logDataset, 'log'],
  ] as const) {
    await fixture.repos.datasets.create({ uid: datasetUidFor(name), name, kind, producerTaskId: taskId });
  }
  const files = ['a.raw', 'b.raw', 'c.raw'].map((name) => fileRef(`${taskId}-${name}`));
  const plan = planJobs({ taskId, mode: 'map', filesPerJob: 1 }, files, { final: true });
  await fixture.repos.jobs.createJobs(task, plan.jobs);
  const [first, second] = plan.jobs.map((job) => ({ jobId: job.jobId, taskId, attempt: 0 }));
  await fixture.repos.jobs.markQueued([first!, second!]);
  const pilotId = `${taskId}-pilot`;
  await fixture.repos.pilots.register(pilotRegistration(pilotId));
  const claimToken = await fixture.repos.jobs.claim({ ...first!, pilotId });
  await fixture.repos.jobs.claim({ ...second!, pilotId });
  const outputs = [
    await storeOutput(spec.outputDataset, `${first!.jobId}.root`, 'output', `events of ${first!.jobId}`),
    await storeOutput(spec.logDataset, `${first!.jobId}.0.log`, 'log', `log of ${first!.jobId}`),
  ];
  await fixture.repos.jobs.complete({ ...first!, claimToken, outputs });
  if (options.registerOutputs ?? true) {
    await fixture.repos.files.registerMany(
      outputs.map((output) => ({
        ...output,
        datasetUid: datasetUidFor(output.kind === 'output' ? spec.outputDataset : spec.logDataset),
        jobId: first!.jobId,
      })),
    );
  }
  return {
    task: await fixture.repos.tasks.get(taskId),
    done: await fixture.repos.jobs.get(first!.jobId),
    running: await fixture.repos.jobs.get(second!.jobId),
    outputs,
  };
}

describe('runAudit', () => {
  it('finds nothing in a consistent task', async () => {
    const { task } = await world('clean');

    const report = await runAudit(deps, { taskId: task.taskId, repair: true });

    expect(report).toMatchObject({
      tasks: 1,
      jobs: 3,
      datasets: 2,
      objects: 2,
      pilots: 1,
      findings: [],
      repairs: [],
    });
  });

  it('counts every live pilot, not only those running the audited jobs', async () => {
    // Prepare: a pilot with no job at all besides the one running the task's job.
    const { task } = await world('pilots');
    await fixture.repos.pilots.register(pilotRegistration(`${task.taskId}-idle-pilot`));
    const live = (
      await Promise.all(
        ['ACTIVE', 'IDLE'].map((state) => fixture.repos.pilots.listByState(state as 'ACTIVE')),
      )
    ).reduce((sum, page) => sum + page.items.length, 0);

    // Act
    const report = await runAudit(deps, { taskId: task.taskId, repair: false });

    // Assess
    expect(live).toBeGreaterThanOrEqual(2);
    expect(report.pilots).toBe(live);
  });

  it('finds and repairs a corrupted counter, after which the task audits clean', async () => {
    // Prepare: three READY jobs too many on a counter shard, written behind the repositories' back.
    const { task } = await world('counters');
    await fixture.clients.doc.send(
      new UpdateCommand({
        TableName: fixture.tables.tasks,
        Key: counterShardKey(task.taskId, DEFAULT_COUNTER_SHARDS - 1),
        UpdateExpression: 'SET #counts.#ready = #counts.#ready + :three',
        ExpressionAttributeNames: { '#counts': 'counts', '#ready': 'READY' },
        ExpressionAttributeValues: { ':three': 3 },
      }),
    );

    // Act
    const found = await runAudit(deps, { taskId: task.taskId, repair: false });
    const repaired = await runAudit(deps, { taskId: task.taskId, repair: true });
    const after = await runAudit(deps, { taskId: task.taskId, repair: false });

    // Assess
    expect(found.findings).toEqual([
      expect.objectContaining({
        invariant: 'task-counters',
        entity: { kind: 'task', id: task.taskId },
        repairable: true,
      }),
    ]);
    expect(found.findings[0]?.detail).toContain('READY 4 (jobs: 1)');
    expect(repaired.repairs).toEqual([expect.objectContaining({ applied: true })]);
    expect((await fixture.repos.tasks.get(task.taskId)).counts).toEqual(task.counts);
    expect(after.findings).toEqual([]);
  });

  it('does not apply a recount once the counters moved since the snapshot', async () => {
    // Prepare: a wrong jobsTotal found (one job too few on a job's shard), then a job cancelled before the repair is applied.
    const { task } = await world('moved');
    const [job] = (await fixture.repos.jobs.listByTask(task.taskId)).items;
    await fixture.clients.doc.send(
      new UpdateCommand({
        TableName: fixture.tables.tasks,
        Key: counterShardKey(task.taskId, shardOf(job!.jobId, DEFAULT_COUNTER_SHARDS)),
        UpdateExpression: 'ADD jobsTotal :minusOne',
        ExpressionAttributeValues: { ':minusOne': -1 },
      }),
    );
    const [finding] = (await runAudit(deps, { taskId: task.taskId, repair: false })).findings;
    expect(finding?.repairable).toBe(true);
    const ready = await fixture.repos.jobs.listReady(task.taskId, 1);
    await fixture.repos.jobs.cancel([{ ...ready[0]!, from: 'READY' }]);

    const applied =
      finding?.repairable && finding.repair.kind === 'recount-task'
        ? await fixture.repos.tasks.recountJobs({
            taskId: task.taskId,
            jobs: (await fixture.repos.jobs.listByTask(task.taskId)).items,
            expected: finding.repair.expected,
          })
        : undefined;

    expect(applied).toBe(false);
    expect((await fixture.repos.tasks.get(task.taskId)).jobsTotal).toBe(2);
  });

  it('registers the stored output and log of a DONE job that were never registered, and announces them', async () => {
    const { task, done, outputs } = await world('unregistered', { registerOutputs: false });

    const report = await runAudit(deps, { taskId: task.taskId, repair: true });

    expect(
      report.findings.map((finding) => [finding.invariant, finding.entity.id, finding.repairable]),
    ).toEqual([
      ['done-job-files-registered', done.jobId, true],
      ['done-job-files-registered', done.jobId, true],
    ]);
    expect(report.repairs.map((repair) => repair.applied)).toEqual([true, true]);
    const registered = await fixture.repos.files.find(datasetUidFor(task.outputDataset), outputs[0]!.name);
    expect(registered).toMatchObject({
      size: outputs[0]!.size,
      checksum: outputs[0]!.checksum,
      jobId: done.jobId,
    });
    expect(report.events.map((event) => [event.DetailType, JSON.parse(event.Detail!).file.name])).toEqual(
      expect.arrayContaining([
        ['file.registered', outputs[0]!.name],
        ['file.registered', outputs[1]!.name],
      ]),
    );
    expect((await runAudit(deps, { taskId: task.taskId, repair: false })).findings).toEqual([]);
  });

  it('reports a registered output missing from storage, or stored with another checksum', async () => {
    const { task, outputs } = await world('storage');
    await fixture.clients.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: outputs[0]!.location.key }));
    const tampered = 'x'.repeat(outputs[1]!.size);
    await fixture.clients.s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: outputs[1]!.location.key,
        Body: tampered,
        ChecksumAlgorithm: 'SHA256',
      }),
    );

    const report = await runAudit(deps, { taskId: task.taskId, repair: true });

    expect(report.findings.map((finding) => [finding.invariant, finding.repairable])).toEqual([
      ['registered-file-stored', false],
      ['registered-file-stored', false],
    ]);
    expect(report.findings.map((finding) => finding.detail).join('\n')).toMatch(/does not exist in storage/);
    expect(report.findings.map((finding) => finding.detail).join('\n')).toMatch(/has checksum sha256:/);
    expect(report.repairs).toEqual([]);
  });

  it('marks LOST a RUNNING job whose pilot is LOST', async () => {
    const { task, running } = await world('orphan');
    await fixture.repos.pilots.transition({ pilotId: running.pilotId!, from: 'ACTIVE', to: 'LOST' });

    // Its last heartbeat is recent: its results may still be on their way, so it is not judged yet.
    const early = await runAudit(deps, { taskId: task.taskId, repair: true });
    const report = await runAudit(deps, { taskId: task.taskId, repair: true, pilotSettleSeconds: 0 });

    expect(early.findings).toEqual([]);
    expect(report.findings).toEqual([
      expect.objectContaining({
        invariant: 'running-job-has-live-pilot',
        entity: { kind: 'job', id: running.jobId },
      }),
    ]);
    expect(report.repairs).toEqual([expect.objectContaining({ applied: true })]);
    expect(await fixture.repos.jobs.get(running.jobId)).toMatchObject({ state: 'LOST', attempt: 0 });
  });

  it('audits a bounded random sample of all tasks and objects', async () => {
    await world('sample');
    let draws = 0;
    const report = await runAudit(
      { ...deps, random: () => (draws++ * 0.37) % 1 },
      { repair: false, maxTasks: 2, maxObjects: 1 },
    );
    expect(report.tasks).toBe(2);
    expect(report.objects).toBeLessThanOrEqual(1);
  });
});

describe('headObject', () => {
  it('reads size and the whole-object SHA-256, and null for a missing object', async () => {
    const output = await storeOutput('head', 'h.root', 'output', 'some bytes');
    expect(await headObject(fixture.clients.s3, output.location)).toEqual({
      size: output.size,
      sha256Hex: output.checksum.slice('sha256:'.length),
    });
    expect(await headObject(fixture.clients.s3, { bucket, key: 'datasets/head/absent.root' })).toBeNull();
  });
});
