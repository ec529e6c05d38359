import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';

/**
 * Bytes of disk the files under `dir` take (allocated blocks, so a sparse file counts what it
 * really holds), walking without following any symbolic link. Entries that vanish during the
 * walk are skipped.
 */
export async function diskUsage(dir: string): Promise<number> {
  let total = 0;
  const pending = [dir];
  while (pending.length > 0) {
    const current = pending.pop()!;
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(current, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of entries) {
      const entryPath = path.join(current, entry.name);
      try {
        total += (await lstat(entryPath)).blocks * 512;
      } catch {
        continue;
      }
      if (entry.isDirectory()) pending.push(entryPath);
    }
  }
  return total;
}

/** The memory limit of a job: what its task asks for or the site's default, at most the site's maximum. */
export function memoryLimitFor(
  requested: number | undefined,
  site: { memoryBytes?: number | undefined; maxMemoryBytes?: number | undefined },
): number | null {
  const wanted = requested ?? site.memoryBytes ?? site.maxMemoryBytes;
  if (wanted === undefined) return null;
  return site.maxMemoryBytes === undefined ? wanted : Math.min(wanted, site.maxMemoryBytes);
}
