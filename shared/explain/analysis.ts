import type { JobWaiting } from '../../events/index.js';
import { errorByCode } from '../errors/index.js';
import type { JobRecord } from '../model/index.js';
import { explainWaiting } from './explain.js';
import type { WaitingContext, WaitingTask } from './types.js';

/** The most frequent error messages a task analysis names. */
export const TOP_MESSAGES = 5;

/** What analyzeTask reads of a job: its state, attempts and the error its last failed attempt left. */
export type AnalyzedJob = Pick<
  JobRecord,
  | 'jobId'
  | 'state'
  | 'attempt'
  | 'device'
  | 'retryAfter'
  | 'errorCode'
  | 'errorMessage'
  | 'exitCode'
  | 'pilotId'
>;

export interface CodeCount {
  code: number;
  /** The registry's name of the code; absent for a code the registry does not know. */
  name?: string;
  jobs: number;
}

export interface TaskAnalysis {
  jobs: number;
  /** Attempts that ended in a failure: the retries made (attempt numbers) plus the FAILED jobs' last ones. */
  failedAttempts: number;
  /** Jobs that needed more than one attempt. */
  retriedJobs: number;
  /** By the error of each job's last failed attempt (a job that later succeeded keeps none). */
  byErrorCode: CodeCount[];
  byExitCode: { exitCode: number; jobs: number }[];
  topMessages: { message: string; jobs: number }[];
  /** Pilots holding the FAILED and RUNNING jobs, with their hosts when known. */
  pilots: { pilotId: string; host?: string; failed: number; running: number }[];
  /** Waiting (READY, QUEUED, LOST) jobs by why they wait. */
  waiting: { reason: JobWaiting['reason']; jobs: number }[];
}

function counted<K>(keys: readonly K[]): [K, number][] {
  const counts = new Map<K, number>();
  for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
  // Most frequent first; ties in first-seen order, so the result does not depend on Map internals.
  return [...counts.entries()].sort((a, b) => b[1] - a[1]);
}

/**
 * A task's failures and waits, from its jobs as stored: failed attempts by error and exit code,
 * the most frequent messages, the pilots (and hosts) involved, and why its waiting jobs wait
 * (explainWaiting with one context for the task). A job keeps only its last failed attempt's
 * error, so codes count jobs, not every attempt.
 */
export function analyzeTask(
  task: WaitingTask,
  jobs: readonly AnalyzedJob[],
  context: WaitingContext,
  hosts: ReadonlyMap<string, string> = new Map(),
): TaskAnalysis {
  const failing = jobs.filter((job) => job.errorCode !== undefined && job.errorCode !== 0);
  const pilots = new Map<string, { failed: number; running: number }>();
  for (const job of jobs) {
    if (job.pilotId === undefined || (job.state !== 'FAILED' && job.state !== 'RUNNING')) continue;
    const entry = pilots.get(job.pilotId) ?? { failed: 0, running: 0 };
    if (job.state === 'FAILED') entry.failed += 1;
    else entry.running += 1;
    pilots.set(job.pilotId, entry);
  }
  const waiting = jobs.flatMap((job) => {
    const why = explainWaiting(job, task, context);
    return why === undefined ? [] : [why.reason];
  });
  return {
    jobs: jobs.length,
    failedAttempts:
      jobs.reduce((sum, job) => sum + job.attempt, 0) + jobs.filter((job) => job.state === 'FAILED').length,
    retriedJobs: jobs.filter((job) => job.attempt > 0).length,
    byErrorCode: counted(failing.map((job) => job.errorCode!)).map(([code, count]) => {
      const name = errorByCode(code)?.name;
      return { code, ...(name === undefined ? {} : { name }), jobs: count };
    }),
    byExitCode: counted(failing.flatMap((job) => (job.exitCode === undefined ? [] : [job.exitCode]))).map(
      ([exitCode, count]) => ({ exitCode, jobs: count }),
    ),
    topMessages: counted(failing.flatMap((job) => (job.errorMessage ? [job.errorMessage] : [])))
      .slice(0, TOP_MESSAGES)
      .map(([message, count]) => ({ message, jobs: count })),
    pilots: [...pilots.entries()]
      .sort((a, b) => b[1].failed - a[1].failed || a[0].localeCompare(b[0]))
      .map(([pilotId, counts]) => {
        const host = hosts.get(pilotId);
        return { pilotId, ...(host === undefined ? {} : { host }), ...counts };
      }),
    waiting: counted(waiting).map(([reason, count]) => ({ reason, jobs: count })),
  };
}
