import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jobResult } from '../test-support/factories.js';
import { ResultSpool, spoolFileName } from './spool.js';

let dir: string;

beforeEach(async () => {
  dir = path.join(await mkdtemp(path.join(tmpdir(), 'pilot-spool-')), 'spool');
});
afterEach(async () => {
  await rm(path.dirname(dir), { recursive: true, force: true });
});

describe('ResultSpool', () => {
  it('keeps a written result, one file per job attempt, until it is removed', async () => {
    const spool = new ResultSpool(dir);
    await spool.open();
    const first = jobResult({ attempt: 0 });
    const second = jobResult({ attempt: 1, outcome: 'DONE', errorCode: 0 });

    const name = await spool.write(first);
    await spool.write(second);

    expect(name).toBe(spoolFileName(first));
    expect((await new ResultSpool(dir).readAll()).results.map((entry) => entry.result)).toEqual([
      first,
      second,
    ]);

    await spool.remove(name);
    expect((await spool.readAll()).results.map((entry) => entry.result)).toEqual([second]);
  });

  it('drops half-written files on open and reports, but keeps, files it cannot read', async () => {
    const spool = new ResultSpool(dir);
    await spool.open();
    await writeFile(path.join(dir, `${spoolFileName(jobResult())}.tmp`), '{"type":"job.res');
    await writeFile(path.join(dir, 'j-2.0.result.json'), '{"type":"job.result"}');
    await writeFile(path.join(dir, 'j-3.0.result.json'), 'not json');

    await new ResultSpool(dir).open();
    const { results, invalid } = await spool.readAll();

    expect(results).toEqual([]);
    expect(invalid.map((entry) => entry.name)).toEqual(['j-2.0.result.json', 'j-3.0.result.json']);
    expect(invalid[0]?.error.message).toMatch(/^invalid spooled result j-2\.0\.result\.json: /);
    expect((await readdir(dir)).sort()).toEqual(['j-2.0.result.json', 'j-3.0.result.json']);
  });
});
