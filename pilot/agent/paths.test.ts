import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERRORS } from '../../shared/errors/index.js';
import { UnsafePathError } from './errors.js';
import { createFileInside, openRegularFileInside, resolveInside } from './paths.js';

let root: string;
let jobDir: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'pilot-paths-'));
  jobDir = path.join(root, 'work', 'j-1.0', 'in');
  await mkdir(jobDir, { recursive: true });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Every file under `dir`, relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).sort();
}

describe('resolveInside', () => {
  it('places a valid file name directly in the directory', () => {
    expect(resolveInside('/w/j.0/in', 'run-0042.data')).toBe('/w/j.0/in/run-0042.data');
    expect(resolveInside('/w/j.0/in/', '..hidden')).toBe('/w/j.0/in/..hidden');
  });

  it.each([
    ['../escape'],
    ['../../etc/passwd'],
    ['/etc/passwd'],
    ['sub/file'],
    ['sub\\file'],
    ['.'],
    ['..'],
    [''],
    ['bad\u0000name'],
    ['line\nbreak'],
    ['x'.repeat(256)],
  ])('refuses %j with the invalid-file-name code', (name) => {
    try {
      resolveInside('/w/j.0/in', name);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(UnsafePathError);
      expect((error as UnsafePathError).entry).toBe(ERRORS.VALIDATION_INVALID_FILE_NAME);
    }
  });

  it('never returns a path outside the directory, whatever the name', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (name) => {
        let resolved: string;
        try {
          resolved = resolveInside('/w/j.0/in', name);
        } catch (error) {
          expect(error).toBeInstanceOf(UnsafePathError);
          return;
        }
        expect(path.dirname(resolved)).toBe('/w/j.0/in');
      }),
    );
  });
});

describe('createFileInside', () => {
  it('creates the file in the directory and nothing anywhere else', async () => {
    const before = await filesUnder(root);

    const { path: created, handle } = await createFileInside(jobDir, 'input.raw');
    await handle.writeFile('data');
    await handle.close();

    expect(created).toBe(path.join(jobDir, 'input.raw'));
    expect(await filesUnder(root)).toEqual([...before, path.join('work', 'j-1.0', 'in', 'input.raw')].sort());
  });

  it('writes nothing for a traversal or an absolute name', async () => {
    const before = await filesUnder(root);

    for (const name of ['../../escaped', `/${root}/absolute`, '../in/../../x']) {
      await expect(createFileInside(jobDir, name)).rejects.toBeInstanceOf(UnsafePathError);
    }

    expect(await filesUnder(root)).toEqual(before);
  });

  it('does not follow a symbolic link planted under the name', async () => {
    const outside = path.join(root, 'outside.txt');
    await writeFile(outside, 'original');
    await symlink(outside, path.join(jobDir, 'planted'));

    await expect(createFileInside(jobDir, 'planted')).rejects.toBeInstanceOf(UnsafePathError);

    expect(await readFile(outside, 'utf8')).toBe('original');
  });

  it('refuses a name given twice in one job', async () => {
    const first = await createFileInside(jobDir, 'twice.raw');
    await first.handle.close();

    await expect(createFileInside(jobDir, 'twice.raw')).rejects.toThrow(/already exists/);
  });
});

describe('openRegularFileInside', () => {
  it('opens a regular file with its size', async () => {
    await writeFile(path.join(jobDir, 'regular.out'), '12345');

    const opened = await openRegularFileInside(jobDir, 'regular.out');

    expect(opened?.size).toBe(5);
    await opened?.handle.close();
  });

  it('does not open a symbolic link (to a file outside), a directory or a FIFO', async () => {
    await symlink('/etc/hostname', path.join(jobDir, 'link.out'));
    await mkdir(path.join(jobDir, 'dir.out'));
    execFileSync('mkfifo', [path.join(jobDir, 'fifo.out')]);

    expect(await openRegularFileInside(jobDir, 'link.out')).toBeNull();
    expect(await openRegularFileInside(jobDir, 'dir.out')).toBeNull();
    expect(await openRegularFileInside(jobDir, 'fifo.out')).toBeNull();
  });
});
