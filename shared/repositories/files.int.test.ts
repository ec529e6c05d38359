import { beforeAll, describe, expect, it } from 'vitest';
import { newFile, type RepositoryFixture, repositoryFixture, sha256Of } from '../../test/support/index.js';
import {
  AlreadyExistsError,
  ConditionFailedError,
  NotFoundError,
  StateConflictError,
  ValidationError,
} from '../errors/index.js';
import { datasetUidFor } from '../ids/index.js';

let fixture: RepositoryFixture;
let datasetCounter = 0;

beforeAll(async () => {
  fixture = await repositoryFixture('files');
});

async function openDataset(kind: 'input' | 'output' | 'log' = 'input'): Promise<string> {
  datasetCounter += 1;
  const name = `run42-set${datasetCounter}`;
  const { dataset } = await fixture.repos.datasets.create({ uid: datasetUidFor(name), name, kind });
  return dataset.uid;
}

describe('FilesRepo.register', () => {
  it('registers a file once, counting it in its dataset in the same call', async () => {
    // Prepare
    const uid = await openDataset();
    const file = newFile(uid, 'a.raw', { size: 1234 });
    fixture.calls.reset();

    // Act
    const first = await fixture.repos.files.register(file);
    const calls = fixture.calls.count();
    const again = await fixture.repos.files.register(file);

    // Assess
    expect(calls).toBe(1);
    expect(first.created).toBe(true);
    expect(again).toEqual({ file: first.file, created: false });
    expect(await fixture.repos.datasets.get(uid)).toMatchObject({ fileCount: 1, totalBytes: 1234 });
    expect(await fixture.repos.files.find(uid, 'a.raw')).toEqual(first.file);
  });

  it('refuses different content under a registered name', async () => {
    const uid = await openDataset();
    await fixture.repos.files.register(newFile(uid, 'b.raw'));

    const conflict = fixture.repos.files.register(
      newFile(uid, 'b.raw', { checksum: sha256Of('other content') }),
    );

    await expect(conflict).rejects.toThrow(AlreadyExistsError);
    expect(await fixture.repos.datasets.get(uid)).toMatchObject({ fileCount: 1 });
  });

  it('refuses new files once the dataset is closed, yet accepts a repeated registration of a known one', async () => {
    const uid = await openDataset();
    const known = newFile(uid, 'c.raw');
    await fixture.repos.files.register(known);
    await fixture.repos.datasets.close(uid);

    await expect(fixture.repos.files.register(newFile(uid, 'late.raw'))).rejects.toThrow(StateConflictError);
    expect((await fixture.repos.files.register(known)).created).toBe(false);
    await expect(fixture.repos.files.register(newFile('ds-missing', 'x.raw'))).rejects.toThrow(NotFoundError);
    await expect(fixture.repos.files.register(newFile(uid, '../escape.raw'))).rejects.toThrow(
      ValidationError,
    );
  });
});

describe('FilesRepo.registerMany', () => {
  it('registers files of several datasets in few calls, reporting each outcome and keeping counts exact', async () => {
    // Prepare
    const outputs = await openDataset('output');
    const logs = await openDataset('log');
    await fixture.repos.files.register(newFile(outputs, 'o-000.root', { kind: 'output', size: 10 }));
    await fixture.repos.files.register(newFile(outputs, 'o-001.root', { kind: 'output', size: 10 }));
    const files = [
      ...Array.from({ length: 120 }, (_, index) =>
        newFile(outputs, `o-${String(index).padStart(3, '0')}.root`, { kind: 'output', size: 10 }),
      ),
      ...Array.from({ length: 30 }, (_, index) => newFile(logs, `l-${index}.log`, { kind: 'log', size: 1 })),
    ];
    files[1] = { ...files[1]!, checksum: sha256Of('changed') };
    fixture.calls.reset();

    // Act
    const result = await fixture.repos.files.registerMany(files);

    // Assess
    expect(result.created).toHaveLength(148);
    expect(result.existing.map((file) => file.name)).toEqual(['o-000.root']);
    expect(result.refused.map((refusal) => [refusal.file.name, refusal.error.name])).toEqual([
      ['o-001.root', 'AlreadyExistsError'],
    ]);
    expect(fixture.calls.count({ operation: 'TransactWriteItems' })).toBe(3);
    expect(await fixture.repos.datasets.get(outputs)).toMatchObject({
      fileCount: 120,
      totalBytes: 1200,
    });
    expect(await fixture.repos.datasets.get(logs)).toMatchObject({ fileCount: 30, totalBytes: 30 });
  });

  it('lists a dataset page by page in name order and fetches named files in one call', async () => {
    const uid = await openDataset();
    const names = ['e.raw', 'a.raw', 'd.raw', 'b.raw', 'c.raw'];
    await fixture.repos.files.registerMany(names.map((name) => newFile(uid, name)));

    const listed: string[] = [];
    let page = await fixture.repos.files.list(uid, { limit: 2 });
    listed.push(...page.items.map((file) => file.name));
    while (page.cursor) {
      page = await fixture.repos.files.list(uid, { limit: 2, cursor: page.cursor });
      listed.push(...page.items.map((file) => file.name));
    }
    fixture.calls.reset();
    const some = await fixture.repos.files.getMany(uid, ['b.raw', 'zz.raw', 'e.raw']);

    expect(listed).toEqual(['a.raw', 'b.raw', 'c.raw', 'd.raw', 'e.raw']);
    expect(some.map((file) => file.name).sort()).toEqual(['b.raw', 'e.raw']);
    expect(fixture.calls.snapshot()).toEqual([{ service: 'DynamoDB', operation: 'BatchGetItem', calls: 1 }]);
  });

  it('lists only the names of a dataset, page by page in name order', async () => {
    const uid = await openDataset();
    const names = ['c.raw', 'a.raw', 'caf\u00e9.raw', 'b.raw', 'd.raw'];
    await fixture.repos.files.registerMany(names.map((name) => newFile(uid, name)));

    const pages: string[][] = [];
    let page = await fixture.repos.files.listNames(uid, { limit: 2 });
    pages.push(page.items);
    while (page.cursor) {
      page = await fixture.repos.files.listNames(uid, { limit: 2, cursor: page.cursor });
      pages.push(page.items);
    }

    expect(pages).toEqual([['a.raw', 'b.raw'], ['c.raw', 'caf\u00e9.raw'], ['d.raw']]);
  });
});

describe('DatasetsRepo', () => {
  it('creates a dataset idempotently and finds it by name', async () => {
    const name = 'run43-reco';
    const uid = datasetUidFor(name);

    const first = await fixture.repos.datasets.create({ uid, name, kind: 'output', producerTaskId: 't-1' });
    const again = await fixture.repos.datasets.create({ uid, name, kind: 'output', producerTaskId: 't-1' });

    expect(first.created).toBe(true);
    expect(first.dataset).toMatchObject({
      uid,
      name,
      state: 'OPEN',
      fileCount: 0,
      totalBytes: 0,
      version: 0,
    });
    expect(again).toEqual({ dataset: first.dataset, created: false });
    await expect(fixture.repos.datasets.create({ uid, name: 'run43-other', kind: 'output' })).rejects.toThrow(
      AlreadyExistsError,
    );
    expect(await fixture.repos.datasets.getByName(name)).toEqual(first.dataset);
    expect(await fixture.repos.datasets.findByName('never-created')).toBeUndefined();
    await expect(fixture.repos.datasets.getByName('never-created')).rejects.toThrow(NotFoundError);
  });

  it('reports a name shared by two datasets instead of picking one', async () => {
    await fixture.repos.datasets.create({ uid: 'ds-dsm-1', name: 'shared-name', kind: 'input' });
    await fixture.repos.datasets.create({ uid: 'ds-dsm-2', name: 'shared-name', kind: 'input' });

    await expect(fixture.repos.datasets.findByName('shared-name')).rejects.toThrow(
      /used by more than one dataset/,
    );
  });

  it('closes only with the expected file count, once, then moves on to upload and delete', async () => {
    const uid = await openDataset();
    await fixture.repos.files.registerMany([newFile(uid, 'a.raw'), newFile(uid, 'b.raw')]);

    await expect(fixture.repos.datasets.close(uid, { expectedFileCount: 3 })).rejects.toThrow(
      ConditionFailedError,
    );
    const closed = await fixture.repos.datasets.close(uid, { expectedFileCount: 2 });
    const again = await fixture.repos.datasets.close(uid, { expectedFileCount: 2 });
    const upload = await fixture.repos.datasets.markToUpload(uid);
    await expect(fixture.repos.datasets.markToDelete(uid, 'CLOSED')).rejects.toThrow(StateConflictError);
    const deleted = await fixture.repos.datasets.markToDelete(uid, 'TO_UPLOAD');

    expect(closed.applied).toBe(true);
    expect(closed.dataset).toMatchObject({ state: 'CLOSED', fileCount: 2, version: 1 });
    expect(closed.dataset.closedAt).toBeDefined();
    expect(again).toEqual({ dataset: closed.dataset, applied: false });
    expect(upload.dataset.state).toBe('TO_UPLOAD');
    expect(deleted.dataset).toMatchObject({ state: 'TO_DELETE', version: 3 });
    await expect(fixture.repos.datasets.close('ds-none')).rejects.toThrow(NotFoundError);
  });
});
