import { beforeAll, describe, expect, it } from 'vitest';
import { fileRef, type RepositoryFixture, repositoryFixture, taskSpec } from '../../test/support/index.js';
import { ConditionFailedError, NotFoundError, StateConflictError } from '../errors/index.js';
import {
  closeDataset,
  markDatasetForDeletion,
  markDatasetForUpload,
  registerInputFile,
  tasksReadingDataset,
} from './datasets.js';

let fixture: RepositoryFixture;
let counter = 0;

beforeAll(async () => {
  fixture = await repositoryFixture('svc-datasets');
});

function nextUid(label: string): string {
  counter += 1;
  return `ds-${label}-${counter}`;
}

async function registerFiles(datasetUid: string, names: readonly string[]): Promise<void> {
  for (const name of names) {
    await registerInputFile(fixture.repos, { datasetUid, datasetName: datasetUid, file: fileRef(name) });
  }
}

describe('registerInputFile', () => {
  it('creates the dataset OPEN on its first file and registers each file once', async () => {
    const datasetUid = nextUid('first');

    const first = await registerInputFile(fixture.repos, {
      datasetUid,
      datasetName: 'run42',
      file: fileRef('f1.raw'),
    });
    const again = await registerInputFile(fixture.repos, {
      datasetUid,
      datasetName: 'run42',
      file: fileRef('f1.raw'),
    });

    expect(first).toMatchObject({ status: 'registered', datasetCreated: true });
    expect(again).toMatchObject({ status: 'duplicate' });
    expect(await fixture.repos.datasets.get(datasetUid)).toMatchObject({
      name: 'run42',
      kind: 'input',
      state: 'OPEN',
      fileCount: 1,
      totalBytes: fileRef('f1.raw').size,
    });
  });

  it('reports the same name with other content as a conflict and leaves the dataset unchanged', async () => {
    const datasetUid = nextUid('conflict');
    await registerFiles(datasetUid, ['f1.raw']);

    const outcome = await registerInputFile(fixture.repos, {
      datasetUid,
      datasetName: datasetUid,
      file: fileRef('f1.raw', { size: 7 }),
    });

    expect(outcome).toMatchObject({
      status: 'conflict',
      registered: { name: 'f1.raw', size: fileRef('f1.raw').size },
    });
    expect((await fixture.repos.datasets.get(datasetUid)).fileCount).toBe(1);
  });

  it('refuses a new file for a closed dataset but takes a repeat of a file it holds', async () => {
    const datasetUid = nextUid('closed');
    await registerFiles(datasetUid, ['f1.raw']);
    await fixture.repos.datasets.close(datasetUid);

    const late = await registerInputFile(fixture.repos, {
      datasetUid,
      datasetName: datasetUid,
      file: fileRef('f2.raw'),
    });
    const repeat = await registerInputFile(fixture.repos, {
      datasetUid,
      datasetName: datasetUid,
      file: fileRef('f1.raw'),
    });

    expect(late).toMatchObject({ status: 'dataset-not-open', dataset: { state: 'CLOSED' } });
    expect(repeat.status).toBe('duplicate');
  });
});

describe('closeDataset', () => {
  it('reports the mismatch while files are missing, then closes once they match', async () => {
    const datasetUid = nextUid('close');
    await registerFiles(datasetUid, ['a', 'b']);
    const request = { datasetUid, files: ['a', 'b', 'c'] };

    const early = await closeDataset(fixture.repos, request);
    await registerFiles(datasetUid, ['c']);
    const matched = await closeDataset(fixture.repos, request);
    const repeated = await closeDataset(fixture.repos, request);

    expect(early).toEqual({
      status: 'mismatch',
      mismatch: {
        status: 'mismatch',
        registered: 2,
        listed: 3,
        missing: { count: 1, first: ['c'] },
        extra: { count: 0, first: [] },
        duplicated: { count: 0, first: [] },
      },
    });
    expect(matched).toMatchObject({
      status: 'closed',
      applied: true,
      dataset: { state: 'CLOSED', fileCount: 3 },
    });
    expect(repeated).toMatchObject({ status: 'closed', applied: false });
  });

  it('reports a closed dataset whose files differ from the checklist as one that can never match', async () => {
    const datasetUid = nextUid('closed-mismatch');
    await registerFiles(datasetUid, ['a', 'b']);
    await closeDataset(fixture.repos, { datasetUid, files: ['a', 'b'] });

    const outcome = await closeDataset(fixture.repos, { datasetUid, files: ['a', 'b', 'z'] });

    expect(outcome).toMatchObject({
      status: 'closed-mismatch',
      mismatch: { missing: { count: 1, first: ['z'] } },
    });
  });

  it('creates and closes an unknown dataset announced empty', async () => {
    const datasetUid = nextUid('empty');

    const named = await closeDataset(fixture.repos, { datasetUid, datasetName: 'empty-run', files: [] });
    const unnamed = await closeDataset(fixture.repos, { datasetUid: nextUid('unnamed'), files: [] });

    expect(named).toMatchObject({
      status: 'closed',
      applied: true,
      dataset: { name: 'empty-run', fileCount: 0 },
    });
    expect(unnamed).toEqual({ status: 'unknown-dataset' });
  });

  it('refuses to close on a count that changed since the files were listed', async () => {
    const datasetUid = nextUid('race');
    await registerFiles(datasetUid, ['a', 'b']);

    const closing = fixture.repos.datasets.close(datasetUid, { expectedFileCount: 1 });

    await expect(closing).rejects.toBeInstanceOf(ConditionFailedError);
    expect((await fixture.repos.datasets.get(datasetUid)).state).toBe('OPEN');
  });
});

describe('tasksReadingDataset', () => {
  it('finds the tasks of the given states whose input is the dataset with one query of its index', async () => {
    const datasetUid = nextUid('readers');
    const other = nextUid('other');
    await fixture.repos.tasks.create(`t-readers-${counter}-a`, taskSpec({ inputDatasetUid: datasetUid }));
    await fixture.repos.tasks.create(`t-readers-${counter}-b`, taskSpec({ inputDatasetUid: other }));
    const running = `t-readers-${counter}-c`;
    await fixture.repos.tasks.create(running, taskSpec({ inputDatasetUid: datasetUid }));
    await fixture.repos.tasks.transition({ taskId: running, from: 'REGISTERED', to: 'RUNNING' });

    for (let index = 0; index < 5; index += 1) {
      await fixture.repos.tasks.create(
        `t-readers-${counter}-x${index}`,
        taskSpec({ inputDatasetUid: other }),
      );
    }
    fixture.calls.reset();

    const registered = await tasksReadingDataset(fixture.repos.tasks, datasetUid, ['REGISTERED']);
    const calls = fixture.calls.snapshot();
    const both = await tasksReadingDataset(fixture.repos.tasks, datasetUid, ['REGISTERED', 'RUNNING']);

    expect(registered.map((task) => task.taskId)).toEqual([`t-readers-${counter}-a`]);
    expect(both.map((task) => task.taskId).sort()).toEqual([`t-readers-${counter}-a`, running].sort());
    // One query of the input-dataset index, whatever the tasks reading other datasets, and one
    // read of the found task's counter shards.
    expect(calls).toEqual([
      { service: 'DynamoDB', operation: 'BatchGetItem', calls: 1 },
      { service: 'DynamoDB', operation: 'Query', calls: 1 },
    ]);
  });
});

describe('markDatasetForUpload', () => {
  it('marks a closed dataset once, waits on an open one and refuses one marked for deletion', async () => {
    const closed = nextUid('upload');
    await closeDataset(fixture.repos, { datasetUid: closed, datasetName: closed, files: [] });
    const open = nextUid('upload-open');
    await registerFiles(open, ['a']);

    const first = await markDatasetForUpload(fixture.repos.datasets, closed);
    const again = await markDatasetForUpload(fixture.repos.datasets, closed);
    await markDatasetForDeletion(fixture.repos, closed);
    const afterDelete = await markDatasetForUpload(fixture.repos.datasets, closed);

    expect(first).toMatchObject({ status: 'marked', applied: true, dataset: { state: 'TO_UPLOAD' } });
    expect(again).toMatchObject({ status: 'marked', applied: false });
    expect(afterDelete).toMatchObject({ status: 'refused', dataset: { state: 'TO_DELETE' } });
    await expect(markDatasetForUpload(fixture.repos.datasets, open)).rejects.toBeInstanceOf(
      StateConflictError,
    );
    await expect(markDatasetForUpload(fixture.repos.datasets, nextUid('missing'))).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });
});

describe('markDatasetForDeletion', () => {
  it('marks the dataset and fails the tasks still registered on it, once', async () => {
    const datasetUid = nextUid('delete');
    await closeDataset(fixture.repos, { datasetUid, datasetName: datasetUid, files: [] });
    const waiting = `t-delete-${counter}-waiting`;
    const running = `t-delete-${counter}-running`;
    await fixture.repos.tasks.create(waiting, taskSpec({ inputDatasetUid: datasetUid }));
    await fixture.repos.tasks.create(running, taskSpec({ inputDatasetUid: datasetUid }));
    await fixture.repos.tasks.transition({ taskId: running, from: 'REGISTERED', to: 'RUNNING' });

    const first = await markDatasetForDeletion(fixture.repos, datasetUid);
    const again = await markDatasetForDeletion(fixture.repos, datasetUid);

    expect(first).toMatchObject({ applied: true, failedTaskIds: [waiting], dataset: { state: 'TO_DELETE' } });
    expect(again).toMatchObject({ applied: false, failedTaskIds: [] });
    expect((await fixture.repos.tasks.get(waiting)).state).toBe('FAILED');
    expect((await fixture.repos.tasks.get(running)).state).toBe('RUNNING');
  });
});
