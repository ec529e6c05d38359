import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { diskUsage, memoryLimitFor } from './limits.js';

const MIB = 1024 ** 2;

describe('memoryLimitFor', () => {
  it("takes the task's request, else the site's default, else its maximum, and never more than the maximum", () => {
    const bytes = fc.option(fc.integer({ min: 16 * MIB, max: 2 ** 44 }), { nil: undefined });
    fc.assert(
      fc.property(bytes, bytes, bytes, (requested, memoryBytes, maxMemoryBytes) => {
        const limit = memoryLimitFor(requested, { memoryBytes, maxMemoryBytes });
        const wanted = requested ?? memoryBytes ?? maxMemoryBytes;
        if (wanted === undefined) expect(limit).toBeNull();
        else if (maxMemoryBytes === undefined) expect(limit).toBe(wanted);
        else expect(limit).toBe(Math.min(wanted, maxMemoryBytes));
      }),
    );
  });
});

describe('diskUsage', () => {
  it('adds up the blocks under a directory without following a link out of it', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'pilot-disk-'));
    try {
      const outside = path.join(root, 'outside');
      const job = path.join(root, 'job');
      await mkdir(path.join(job, 'out', 'deep'), { recursive: true });
      await mkdir(outside);
      await writeFile(path.join(outside, 'big'), Buffer.alloc(8 * MIB, 1));
      await writeFile(path.join(job, 'out', 'deep', 'data'), Buffer.alloc(2 * MIB, 1));
      await symlink(outside, path.join(job, 'out', 'link'));

      const used = await diskUsage(job);

      expect(used).toBeGreaterThanOrEqual(2 * MIB);
      expect(used).toBeLessThan(3 * MIB);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
