/**
 * The export of a finished task: JSON lines, one object per task (`archive/<taskId>.jsonl`), a
 * header line and then one line per job and per file. Writing and reading both keep a running
 * count and sha256, so an export is checked against what its task recorded without holding it.
 */
import { createHash, type Hash } from 'node:crypto';
import { formatIssues } from '../errors/index.js';
import type { FileRecord, JobRecord, TaskRecord } from '../model/index.js';
import { JOB_STATES, STORAGE_KEY_PREFIXES } from '../model/index.js';
import { TERMINAL_JOB_STATES, TERMINAL_TASK_STATES } from '../states/index.js';
import { ARCHIVE_FORMAT } from './constants.js';
import { ArchiveCorruptError } from './errors.js';
import { ArchiveLine, type ArchiveSummary } from './schemas.js';

/** The object key of a task's export. */
export function archiveKey(taskId: string): string {
  return `${STORAGE_KEY_PREFIXES.archive}/${taskId}.jsonl`;
}

export function headerLine(taskId: string): ArchiveLine {
  return { kind: 'header', format: ARCHIVE_FORMAT, taskId };
}

export function jobLine(job: JobRecord): ArchiveLine {
  return { kind: 'job', job };
}

export function fileLine(file: FileRecord): ArchiveLine {
  return { kind: 'file', file };
}

/** One line as written: its JSON and a newline (JSON escapes every newline inside strings). */
export function encodeLine(line: ArchiveLine): string {
  return `${JSON.stringify(line)}\n`;
}

/** A line as read (without its newline); anything else than a valid line is an ArchiveCorruptError. */
export function parseLine(text: string, key: string, lineNumber: number): ArchiveLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ArchiveCorruptError(key, `line ${lineNumber} is not JSON`, { cause: error });
  }
  const parsed = ArchiveLine.safeParse(value);
  if (!parsed.success) {
    const issues = formatIssues(parsed.error)
      .map((issue) => `${issue.path || '(root)'}: ${issue.message}`)
      .join('; ');
    throw new ArchiveCorruptError(key, `line ${lineNumber}: ${issues}`, { cause: parsed.error });
  }
  return parsed.data;
}

/** The running count and sha256 of an export's lines, as written or as read. */
export class ArchiveDigest {
  readonly #hash: Hash = createHash('sha256');
  jobs = 0;
  files = 0;
  bytes = 0;

  /** Adds a line's bytes (with its newline) and counts it by kind. */
  add(line: ArchiveLine, bytes: Uint8Array): void {
    this.#hash.update(bytes);
    this.bytes += bytes.length;
    if (line.kind === 'job') this.jobs += 1;
    if (line.kind === 'file') this.files += 1;
  }

  /** The sha256 in hex; the digest ends here. */
  sha256(): string {
    return this.#hash.digest('hex');
  }
}

/** Why an export read back does not match its summary, or null when it does. */
export function summaryMismatch(
  summary: Pick<ArchiveSummary, 'jobs' | 'files' | 'sha256'>,
  read: { jobs: number; files: number; sha256: string },
): string | null {
  const differences: string[] = [];
  if (read.jobs !== summary.jobs) differences.push(`${read.jobs} jobs, ${summary.jobs} recorded`);
  if (read.files !== summary.files) differences.push(`${read.files} files, ${summary.files} recorded`);
  if (read.sha256 !== summary.sha256) differences.push(`sha256 ${read.sha256}, ${summary.sha256} recorded`);
  return differences.length === 0 ? null : differences.join('; ');
}

/** A task whose items are to be exported: finished, with no job that can still change by itself. */
export function isSettled(task: Pick<TaskRecord, 'state' | 'counts'>): boolean {
  return (
    TERMINAL_TASK_STATES.includes(task.state) &&
    JOB_STATES.every((state) => TERMINAL_JOB_STATES.includes(state) || task.counts[state] === 0)
  );
}

/**
 * A settled task that ended at least `afterSeconds` ago: a late result or an operator's look
 * at it has found live items until then.
 */
export function isDueForArchive(
  task: Pick<TaskRecord, 'state' | 'counts' | 'endedAt'>,
  now: Date,
  afterSeconds: number,
): boolean {
  if (!isSettled(task) || task.endedAt === undefined) return false;
  return Date.parse(task.endedAt) + afterSeconds * 1000 <= now.getTime();
}

/** When DynamoDB may delete the exported items: `retentionDays` after the mark (epoch seconds). */
export function expiresAtOf(archivedAt: string, retentionDays: number): number {
  return Math.floor(Date.parse(archivedAt) / 1000) + retentionDays * 86_400;
}
