import { chmod, mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { JobResultMessage } from '../../events/index.js';
import { ValidationError } from '../../shared/errors/index.js';
import { SPOOL_SUFFIX } from './constants.js';

/** A result kept in the spool, by the name of its file. */
export interface SpooledResult {
  name: string;
  result: JobResultMessage;
}

/** The spool file name of a result: one per job attempt. */
export function spoolFileName(result: Pick<JobResultMessage, 'jobId' | 'attempt'>): string {
  return `${result.jobId}.${result.attempt}${SPOOL_SUFFIX}`;
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Job results on local disk until SQS has accepted them: a result is written and fsynced
 * (file and directory) before it is sent and removed only after, so neither an unreachable
 * control plane nor a crash of the pilot loses it.
 */
export class ResultSpool {
  constructor(readonly dir: string) {}

  /** Creates the directory and drops half-written files a crash may have left. */
  async open(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    // The pilot's own: payloads (other users) may not read claim tokens or results.
    await chmod(this.dir, 0o700);
    for (const name of await readdir(this.dir)) {
      if (name.endsWith('.tmp')) await rm(path.join(this.dir, name), { force: true });
    }
  }

  /** Writes a result durably; returns its spool name. */
  async write(result: JobResultMessage): Promise<string> {
    const name = spoolFileName(result);
    const finalPath = path.join(this.dir, name);
    const temporaryPath = `${finalPath}.tmp`;
    const handle = await open(temporaryPath, 'w', 0o600);
    try {
      await handle.writeFile(JSON.stringify(result));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporaryPath, finalPath);
    await syncDirectory(this.dir);
    return name;
  }

  async remove(name: string): Promise<void> {
    await rm(path.join(this.dir, name), { force: true });
    await syncDirectory(this.dir);
  }

  /**
   * Every spooled result. A file that does not hold a valid result is reported in `invalid`
   * and left where it is for an operator: the spool never deletes what it cannot send.
   */
  async readAll(): Promise<{ results: SpooledResult[]; invalid: { name: string; error: Error }[] }> {
    const results: SpooledResult[] = [];
    const invalid: { name: string; error: Error }[] = [];
    const names = (await readdir(this.dir)).filter((name) => name.endsWith(SPOOL_SUFFIX)).sort();
    for (const name of names) {
      try {
        const parsed = JobResultMessage.safeParse(
          JSON.parse(await readFile(path.join(this.dir, name), 'utf8')),
        );
        if (parsed.success) results.push({ name, result: parsed.data });
        else invalid.push({ name, error: ValidationError.fromZod(`spooled result ${name}`, parsed.error) });
      } catch (error) {
        invalid.push({ name, error: error as Error });
      }
    }
    return { results, invalid };
  }
}
