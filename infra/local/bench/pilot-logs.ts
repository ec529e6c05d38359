/** What the bench reads from a pilot's JSON log: its AWS call counts at exit and its payloads' process ids. */
import { readFileSync } from 'node:fs';
import type { CallCount } from '../../../shared/aws/index.js';

interface LogLine {
  message?: unknown;
  calls?: unknown;
  pid?: unknown;
  jobId?: unknown;
  attempt?: unknown;
}

function logLines(file: string): LogLine[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return text.split('\n').flatMap((line) => {
    if (!line.startsWith('{')) return [];
    try {
      return [JSON.parse(line) as LogLine];
    } catch {
      // A line still being written, or not the pilot's.
      return [];
    }
  });
}

function isCallCount(value: unknown): value is CallCount {
  const entry = value as CallCount;
  return (
    typeof entry === 'object' &&
    entry !== null &&
    typeof entry.service === 'string' &&
    typeof entry.operation === 'string' &&
    typeof entry.calls === 'number'
  );
}

/** The calls the pilot logged at exit; throws when it logged none (it did not exit cleanly). */
export function pilotCallCounts(file: string): CallCount[] {
  const line = logLines(file).findLast((entry) => entry.message === 'AWS API calls');
  if (!line || !Array.isArray(line.calls) || !line.calls.every(isCallCount))
    throw new Error(`${file}: the pilot logged no AWS call counts at exit`);
  return line.calls;
}

/** `<jobId>.<attempt>` → process id of every payload the pilot started. */
export function payloadPids(file: string): Map<string, number> {
  const pids = new Map<string, number>();
  for (const line of logLines(file)) {
    if (line.message !== 'payload started' || typeof line.pid !== 'number') continue;
    pids.set(`${String(line.jobId)}.${String(line.attempt)}`, line.pid);
  }
  return pids;
}

/** Whether a process still runs (a zombie, dead but not yet reaped, does not). */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
