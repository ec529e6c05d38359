/**
 * Reading an export back: its bytes as they stream in, split into lines, each parsed and
 * handed on, the count and sha256 kept as it goes and checked against the task's summary at
 * the end. A reader answers only after the whole object matched, so nothing it returns comes
 * from an export that does not.
 */

import { ArchiveCorruptError } from './errors.js';
import { ArchiveDigest, parseLine, summaryMismatch } from './format.js';
import type { ArchiveLine, ArchiveSummary } from './schemas.js';

const NEWLINE = 0x0a;

/** A job or file line of an export, with its position among them (0 for the first job). */
export type ArchiveEntry = Exclude<ArchiveLine, { kind: 'header' }>;

/**
 * Streams the export `chunks` of task `taskId`, calling `visit` with every job and file line
 * in order, and checks its header, counts and sha256 against `summary` once it ends. Throws
 * ArchiveCorruptError on any difference: callers keep what `visit` gathered only on success.
 */
export async function scanArchive(
  chunks: AsyncIterable<Uint8Array>,
  expected: { taskId: string; summary: Pick<ArchiveSummary, 'key' | 'jobs' | 'files' | 'sha256'> },
  visit: (entry: ArchiveEntry, index: number) => void,
): Promise<void> {
  const { key } = expected.summary;
  const digest = new ArchiveDigest();
  let pending = Buffer.alloc(0);
  let lineNumber = 0;
  let entries = 0;
  const take = (bytes: Buffer) => {
    lineNumber += 1;
    const line = parseLine(bytes.subarray(0, bytes.length - 1).toString('utf8'), key, lineNumber);
    digest.add(line, bytes);
    if (lineNumber === 1) {
      if (line.kind !== 'header' || line.taskId !== expected.taskId)
        throw new ArchiveCorruptError(key, `its first line is not the header of task ${expected.taskId}`);
      return;
    }
    if (line.kind === 'header') throw new ArchiveCorruptError(key, `line ${lineNumber} is a second header`);
    visit(line, entries);
    entries += 1;
  };
  for await (const chunk of chunks) {
    pending = pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([pending, chunk]);
    let start = 0;
    for (let end = pending.indexOf(NEWLINE, start); end !== -1; end = pending.indexOf(NEWLINE, start)) {
      take(pending.subarray(start, end + 1));
      start = end + 1;
    }
    pending = pending.subarray(start);
  }
  if (pending.length > 0) throw new ArchiveCorruptError(key, 'it ends inside a line');
  if (lineNumber === 0) throw new ArchiveCorruptError(key, 'it is empty');
  const mismatch = summaryMismatch(expected.summary, {
    jobs: digest.jobs,
    files: digest.files,
    sha256: digest.sha256(),
  });
  if (mismatch !== null) throw new ArchiveCorruptError(key, mismatch);
}
