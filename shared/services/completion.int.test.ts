import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { CreateBucketCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { DatasetCloseDetail } from '../../events/index.js';
import {
  fileRef,
  newFile,
  pilotRegistration,
  type RepositoryFixture,
  readTableStream,
  repositoryFixture,
  type TableChange,
  taskSpec,
  uniquePrefix,
} from '../../test/support/index.js';
import { datasetUidFor } from '../ids/index.js';
import { planJobs } from '../jobgen/index.js';
import { TaskCounterShard, TaskItem, type TaskRecord, type TaskSpec } from '../model/index.js';
import { checklistObjectOpener } from './checklist-objects.js';
import {
  type CompletionDeps,
  handleCounterShardChange,
  handleTaskChange,
  type TaskChangeOutcome,
} from './completion.js';
import { checklistReadPlaces } from './dataset-locations.js';
import { closeDataset } from './datasets.js';

let fixture: RepositoryFixture;
let deps: CompletionDeps;
let counter = 0;

beforeAll(async () => {
  fixture = await repositoryFixture('svc-completion');
  await fixture.repos.pilots.register(pilotRegistration('pilot-a'));
  const bucket = uniquePrefix('completion-data');
  await fixture.clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  deps = {
    repos: fixture.repos,
    eventBusName: 'wms-bus',
    checklists: { s3: fixture.clients.s3, bucket, inlineMaxFiles: 5_000 },
  };
});

/** A RUNNING task with `jobCount` generated jobs, each QUEUED then claimed. */
async function runningTask(jobCount: number, spec: Partial<z.input<typeof TaskSpec>> = {}) {
  counter += 1;
  const taskId = `t-completion-${counter}`;
  await fixture.repos.tasks.create(
    taskId,
    taskSpec({ outputDataset: `out-${counter}`, logDataset: `logs-${counter}`, ...spec }),
  );
  const { task } = await fixture.repos.tasks.transition({ taskId, from: 'REGISTERED', to: 'RUNNING' });
  const files = Array.from({ length: jobCount }, (_, index) => fileRef(`in-${index}.raw`));
  const { jobs } = planJobs(task, files, { final: true });
  await fixture.repos.jobs.createJobs(task, jobs);
  await fixture.repos.tasks.markGenerationComplete(taskId);
  const refs = jobs.map((job) => ({ jobId: job.jobId, taskId, attempt: 0 }));
  await fixture.repos.jobs.markQueued(refs);
  const tokens: string[] = [];
  for (const ref of refs) tokens.push(await fixture.repos.jobs.claim({ ...ref, pilotId: 'pilot-a' }));
  return { taskId, refs: refs.map((ref, index) => ({ ...ref, claimToken: tokens[index]! })) };
}

/** Runs `change` and returns the Tasks stream records it wrote for the task: its item's and its counter shards'. */
async function changed(taskId: string, change: () => Promise<unknown>): Promise<TableChange[]> {
  const before = (await readTableStream(fixture.clients, fixture.tables.tasks)).length;
  await change();
  const after = await readTableStream(fixture.clients, fixture.tables.tasks);
  return after
    .slice(before)
    .filter((record) => record.keys.taskId === taskId || record.newImage?.counterOf === taskId);
}

/** Handles the records one by one, as the task-lifecycle function does, and gathers their outcomes. */
async function handleAll(
  records: readonly TableChange[],
  handlerDeps: CompletionDeps = deps,
): Promise<TaskChangeOutcome> {
  const all: TaskChangeOutcome = { closedDatasets: [], events: [] };
  for (const record of records) {
    const shard = record.newImage?.counterOf !== undefined;
    const schema = shard ? TaskCounterShard : TaskItem;
    const images = {
      ...(record.oldImage && { oldImage: schema.parse(record.oldImage) }),
      ...(record.newImage && { newImage: schema.parse(record.newImage) }),
    };
    const outcome = shard
      ? await handleCounterShardChange(handlerDeps, images as Parameters<typeof handleCounterShardChange>[1])
      : await handleTaskChange(handlerDeps, images as Parameters<typeof handleTaskChange>[1]);
    if (outcome.finished) all.finished = outcome.finished;
    all.closedDatasets.push(...outcome.closedDatasets);
    all.events.push(...outcome.events);
  }
  return all;
}

function detailsOf(events: readonly PutEventsRequestEntry[], detailType: string) {
  return events
    .filter((event) => event.DetailType === detailType)
    .map((event) => {
      expect(event).toMatchObject({ Source: 'spd.wms', EventBusName: 'wms-bus' });
      return JSON.parse(event.Detail!) as Record<string, unknown>;
    });
}

describe('handleTaskChange', () => {
  it('finishes a task when its last job is done, then closes its datasets with their checklists', async () => {
    const { taskId, refs } = await runningTask(2);
    const task: TaskRecord = await fixture.repos.tasks.get(taskId);
    const outputUid = datasetUidFor(task.outputDataset);
    await fixture.repos.datasets.create({ uid: outputUid, name: task.outputDataset, kind: 'output' });
    await fixture.repos.files.registerMany([
      newFile(outputUid, 'b.root', { kind: 'output' }),
      newFile(outputUid, 'a.root', { kind: 'output' }),
    ]);
    const jobsDone = await changed(taskId, async () => {
      await fixture.repos.jobs.complete({ ...refs[0]!, outputs: [] });
      await fixture.repos.jobs.complete({ ...refs[1]!, outputs: [] });
    });

    const finished = await changed(taskId, async () => {
      expect(await handleAll(jobsDone)).toEqual({ finished: 'DONE', closedDatasets: [], events: [] });
    });
    const closing = await handleAll(finished);
    const redelivered = await handleAll(finished);

    const done = await fixture.repos.tasks.get(taskId);
    expect(done.state).toBe('DONE');
    expect(detailsOf(closing.events, 'task.status-changed')).toEqual([
      {
        taskId,
        name: task.name,
        from: 'RUNNING',
        to: 'DONE',
        counts: { ...done.counts, DONE: 2 },
        at: done.updatedAt,
      },
    ]);
    expect(detailsOf(closing.events, 'dataset.close')).toEqual([
      { datasetUid: outputUid, datasetName: task.outputDataset, files: ['a.root', 'b.root'] },
      { datasetUid: datasetUidFor(task.logDataset), datasetName: task.logDataset, files: [] },
    ]);
    expect((await fixture.repos.datasets.get(outputUid)).state).toBe('CLOSED');
    expect(redelivered.events).toEqual(closing.events);
    expect(redelivered.finished).toBeUndefined();
  });

  it('fails a task whose failed jobs exceed its tolerance', async () => {
    const { taskId, refs } = await runningTask(1);
    const change = await changed(taskId, () =>
      fixture.repos.jobs.fail({ ...refs[0]!, from: 'RUNNING', errorCode: 1202 }),
    );

    const outcome = await handleAll(change);

    expect(outcome.finished).toBe('FAILED');
    expect((await fixture.repos.tasks.get(taskId)).state).toBe('FAILED');
  });

  it('closes a cancelled task’s datasets only once its last running job has ended', async () => {
    const { taskId, refs } = await runningTask(1);
    const cancel = await changed(taskId, () =>
      fixture.repos.tasks.transition({ taskId, from: 'RUNNING', to: 'CANCELLED' }),
    );
    const onCancel = await handleAll(cancel);
    const drain = await changed(taskId, () => fixture.repos.jobs.cancel([{ ...refs[0]!, from: 'RUNNING' }]));

    const onDrain = await handleAll(drain);

    expect(detailsOf(onCancel.events, 'task.status-changed')).toHaveLength(1);
    expect(onCancel.closedDatasets).toEqual([]);
    expect(onDrain.closedDatasets).toHaveLength(2);
    expect(detailsOf(onDrain.events, 'dataset.close').map((detail) => detail.files)).toEqual([[], []]);
  });

  it('leaves the closing of a task that finishes after its last job to the change of its state', async () => {
    // Prepare: the last job ends while the task is RUNNING; the records are handled late, after the task was cancelled.
    const { taskId, refs } = await runningTask(1);
    const drain = await changed(taskId, () => fixture.repos.jobs.cancel([{ ...refs[0]!, from: 'RUNNING' }]));
    const cancel = await changed(taskId, () =>
      fixture.repos.tasks.transition({ taskId, from: 'RUNNING', to: 'CANCELLED' }),
    );

    // Act
    const onDrain = await handleAll(drain);
    const onCancel = await handleAll(cancel);

    // Assess: the datasets are closed once, by the record of the task's change of state.
    expect(onDrain).toEqual({ closedDatasets: [], events: [] });
    expect(onCancel.closedDatasets).toHaveLength(2);
  });

  /** A finished task whose output dataset holds `names`; returns the record that finishes it. */
  async function finishedWithOutputs(names: readonly string[]) {
    const { taskId } = await runningTask(0);
    const task = await fixture.repos.tasks.get(taskId);
    const outputUid = datasetUidFor(task.outputDataset);
    await fixture.repos.datasets.create({ uid: outputUid, name: task.outputDataset, kind: 'output' });
    const files = names.map((name) => newFile(outputUid, name, { kind: 'output' }));
    for (let start = 0; start < files.length; start += 99) {
      await fixture.repos.files.registerMany(files.slice(start, start + 99));
    }
    const finish = await changed(taskId, () =>
      fixture.repos.tasks.transition({ taskId, from: 'RUNNING', to: 'DONE' }),
    );
    return { task, outputUid, finish };
  }

  async function objectText(url: string): Promise<string> {
    const [, bucket, key] = /^s3:\/\/([^/]+)\/(.+)$/.exec(url)!;
    const object = await fixture.clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return object.Body!.transformToString('utf8');
  }

  it('closes an output dataset above the inline limit by a checklist object that dataset-close accepts', async () => {
    const names = ['c.root', 'a.root', 'b.root', 'caf\u00e9.root', 'z\u{1f600}.root', 'z\uff0e.root'];
    const { task, outputUid, finish } = await finishedWithOutputs(names);
    const limited = { ...deps, checklists: { ...deps.checklists, inlineMaxFiles: 5 } };

    const outcome = await handleAll(finish, limited);

    const [output] = detailsOf(outcome.events, 'dataset.close').filter(
      (detail) => detail.datasetUid === outputUid,
    );
    const reference = output!.checklistObject as { url: string; count: number; sha256: string };
    expect(output).toEqual({
      datasetUid: outputUid,
      datasetName: task.outputDataset,
      checklistObject: reference,
    });
    expect(reference.url).toBe(
      `s3://${deps.checklists.bucket}/checklists/${task.outputDataset}/${reference.sha256}.txt`,
    );
    expect(reference.count).toBe(6);
    expect(await objectText(reference.url)).toBe(
      'a.root\nb.root\nc.root\ncaf\u00e9.root\nz\uff0e.root\nz\u{1f600}.root\n',
    );
    const opener = checklistObjectOpener(fixture.clients.s3, checklistReadPlaces(deps.checklists.bucket));
    const accepted = await closeDataset(fixture.repos, DatasetCloseDetail.parse(output), opener);
    expect(accepted).toMatchObject({ status: 'closed', fileCount: 6, dataset: { state: 'CLOSED' } });
  });

  it('closes by a checklist object below the inline limit when the names do not fit an EventBridge event', async () => {
    const longName = (index: number) => `${String(index).padStart(5, '0')}${'x'.repeat(245)}.root`;
    const { outputUid, finish } = await finishedWithOutputs(
      Array.from({ length: 1_050 }, (_, index) => longName(index)),
    );

    const outcome = await handleAll(finish);

    const [output] = detailsOf(outcome.events, 'dataset.close').filter(
      (detail) => detail.datasetUid === outputUid,
    );
    expect(output).toMatchObject({ checklistObject: { count: 1_050 } });
    expect(output).not.toHaveProperty('files');
    expect((await fixture.repos.datasets.get(outputUid)).state).toBe('CLOSED');
  });
});
