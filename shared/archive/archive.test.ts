import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fileRef, sha256Of } from '../../test/support/factories.js';
import { FileRecord, JOB_STATES, JobRecord, type JobState } from '../model/index.js';
import {
  ArchiveCorruptError,
  type ArchiveEntry,
  archiveKey,
  encodeLine,
  expiresAtOf,
  fileLine,
  headerLine,
  isDueForArchive,
  jobLine,
  parseLine,
  scanArchive,
} from './index.js';
import type { ArchiveLine } from './schemas.js';

const TASK = 't-reco-42';

function job(index: number, overrides: Partial<JobRecord> = {}): JobRecord {
  return JobRecord.parse({
    jobId: `j-${index}`,
    taskId: TASK,
    state: 'DONE',
    attempt: 0,
    device: 'CPU',
    rank: 5,
    inputs: [fileRef(`run42_${index}.raw`)],
    createdAt: '2026-11-21T10:00:00.000Z',
    updatedAt: '2026-11-21T10:00:01.000Z',
    ...overrides,
  });
}

function file(name: string): FileRecord {
  return FileRecord.parse({
    datasetUid: 'ds-run42-reco-logs',
    name,
    kind: 'log',
    location: { bucket: 'spd-data', key: `outputs/run42-reco-logs/${name}` },
    size: 1234,
    checksum: sha256Of(name),
    jobId: 'j-1',
    registeredAt: '2026-11-21T10:00:02.000Z',
  });
}

/** An export of `jobs` and `files` as bytes, with the summary its task would record. */
function exportOf(jobs: JobRecord[], files: FileRecord[]) {
  const lines: ArchiveLine[] = [headerLine(TASK), ...jobs.map(jobLine), ...files.map(fileLine)];
  const bytes = Buffer.from(lines.map(encodeLine).join(''), 'utf8');
  const summary = {
    key: archiveKey(TASK),
    jobs: jobs.length,
    files: files.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
  return { bytes, summary };
}

async function* chunked(bytes: Buffer, cuts: readonly number[]): AsyncIterable<Uint8Array> {
  let start = 0;
  for (const cut of [...new Set(cuts)].sort((a, b) => a - b)) {
    if (cut <= start || cut >= bytes.length) continue;
    yield bytes.subarray(start, cut);
    start = cut;
  }
  yield bytes.subarray(start);
}

async function scan(bytes: Buffer, summary: ReturnType<typeof exportOf>['summary'], cuts: number[] = []) {
  const entries: ArchiveEntry[] = [];
  await scanArchive(chunked(bytes, cuts), { taskId: TASK, summary }, (entry) => entries.push(entry));
  return entries;
}

const jobArbitrary = fc
  .record({
    index: fc.nat({ max: 1_000_000 }),
    state: fc.constantFrom(...JOB_STATES),
    attempt: fc.nat({ max: 9 }),
    // Messages hold newlines, quotes and code points outside ASCII: JSON escapes what a line must not hold.
    errorMessage: fc.option(fc.string({ unit: 'binary', maxLength: 40 }), { nil: undefined }),
  })
  .map(({ index, state, attempt, errorMessage }) =>
    job(index, { state, attempt, ...(errorMessage === undefined ? {} : { errorMessage }) }),
  );

describe('an export', () => {
  it('is named by its task under the archive prefix', () => {
    expect(archiveKey('t-reco-42')).toBe('archive/t-reco-42.jsonl');
  });

  it('reads back every job and file it was written with, in order, however its bytes arrive', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(jobArbitrary, { maxLength: 20 }),
        fc.array(fc.stringMatching(/^[a-z0-9]{1,12}\.log$/), { maxLength: 5 }),
        fc.array(fc.nat({ max: 20_000 }), { maxLength: 12 }),
        async (jobs, names, cuts) => {
          const files = names.map(file);
          const { bytes, summary } = exportOf(jobs, files);

          const entries = await scan(bytes, summary, cuts);

          expect(entries).toEqual([...jobs.map(jobLine), ...files.map(fileLine)]);
        },
      ),
    );
  });

  it('writes one line per record: a newline only at its end', () => {
    fc.assert(
      fc.property(jobArbitrary, (record) => {
        const text = encodeLine(jobLine(record));
        expect(text.indexOf('\n')).toBe(text.length - 1);
        expect(parseLine(text.slice(0, -1), 'k', 1)).toEqual(jobLine(record));
      }),
    );
  });

  it('is refused when any byte differs from what its task recorded', async () => {
    const { bytes, summary } = exportOf(
      [job(1), job(2, { errorMessage: 'payload exited with 1' })],
      [file('a.log')],
    );
    const tampered = Buffer.from(bytes.toString('utf8').replace('exited with 1', 'exited with 2'), 'utf8');

    await expect(scan(tampered, summary)).rejects.toThrow(ArchiveCorruptError);
    await expect(scan(tampered, summary)).rejects.toThrow(/sha256/);
  });

  it('is refused when it holds another number of jobs or files than recorded', async () => {
    const { bytes, summary } = exportOf([job(1), job(2)], [file('a.log')]);

    await expect(scan(bytes, { ...summary, jobs: 3 })).rejects.toThrow(/2 jobs, 3 recorded/);
    await expect(scan(bytes, { ...summary, files: 0 })).rejects.toThrow(/1 files, 0 recorded/);
  });

  it('is refused when cut short, empty, of another task, or holding a line that is no record', async () => {
    const { bytes, summary } = exportOf([job(1), job(2)], []);
    const other = exportOf([job(1)], []);
    const otherTask = Buffer.from(other.bytes.toString('utf8').replace(TASK, 't-other'), 'utf8');
    const badLine = Buffer.concat([bytes, Buffer.from('{"kind":"job","job":{"jobId":"j-3"}}\n')]);

    await expect(scan(bytes.subarray(0, bytes.length - 5), summary)).rejects.toThrow(/ends inside a line/);
    await expect(scan(Buffer.alloc(0), summary)).rejects.toThrow(/empty/);
    await expect(scan(otherTask, other.summary)).rejects.toThrow(/header of task t-reco-42/);
    await expect(scan(badLine, summary)).rejects.toThrow(/line 4: job/);
  });
});

describe('archival decisions', () => {
  const counts = Object.fromEntries(JOB_STATES.map((state) => [state, 0])) as Record<JobState, number>;
  const ended = {
    state: 'DONE' as const,
    counts: { ...counts, DONE: 10 },
    endedAt: '2026-11-21T10:00:00.000Z',
  };

  it('archive a finished task only ARCHIVE_AFTER_SECONDS after its end', () => {
    expect(isDueForArchive(ended, new Date('2026-11-21T10:59:59.000Z'), 3600)).toBe(false);
    expect(isDueForArchive(ended, new Date('2026-11-21T11:00:00.000Z'), 3600)).toBe(true);
  });

  it('leave a task with jobs that can still change, or one not finished', () => {
    const now = new Date('2026-12-01T00:00:00.000Z');
    expect(isDueForArchive({ ...ended, counts: { ...ended.counts, RUNNING: 1 } }, now, 0)).toBe(false);
    expect(isDueForArchive({ ...ended, counts: { ...ended.counts, LOST: 1 } }, now, 0)).toBe(false);
    expect(isDueForArchive({ ...ended, state: 'RUNNING' }, now, 0)).toBe(false);
    expect(
      isDueForArchive({ ...ended, state: 'FAILED', counts: { ...ended.counts, FAILED: 2 } }, now, 0),
    ).toBe(true);
  });

  it('expire items ARCHIVE_RETENTION_DAYS after the mark', () => {
    const expiresAt = expiresAtOf('2026-11-21T10:00:00.000Z', 30);

    expect(new Date(expiresAt * 1000).toISOString()).toBe('2026-12-21T10:00:00.000Z');
  });
});
