/** `wms why <job>`: a job's `waiting` explanation (GET /jobs/{id}) in words. */
import type { JobView, JobWaiting, TaskAnalysisView } from '../../events/index.js';
import { errorByCode } from '../../shared/errors/index.js';
import { age, plural, table } from './format.js';

function waitingText(waiting: JobWaiting, job: JobView): string {
  const device = waiting.device;
  switch (waiting.reason) {
    case 'queued':
      return `It is in the ${device} queue${waiting.queuePosition === undefined ? '' : ` with about ${waiting.queuePosition} jobs ahead of it`}; a pilot will take it.`;
    case 'no-pilot-for-device':
      return `No active pilot can run ${device} jobs: start a ${device} pilot (docs/pilots.md).`;
    case 'lower-rank':
      return `Tasks of higher rank are served first; its task has rank ${waiting.taskRank} (raise it with wms rank).`;
    case 'queue-full':
      return `The ${device} queue already holds as many jobs as the active pilots' slots need (controlled loading); it is sent when a slot frees.`;
    case 'retry-backoff':
      return `A failed attempt waits for its retry delay${job.retryAfter ? ` until ${job.retryAfter}` : ''}.`;
    case 'lost-awaiting-retry':
      return 'Its pilot was lost; the watchdog returns the job to READY for another attempt.';
    case 'task-not-running':
      return 'Its task is not RUNNING, so none of its jobs is dispatched.';
    case 'task-held':
      return 'Its task is HELD: none of its jobs is dispatched until wms release.';
  }
}

function failureText(job: JobView): string {
  if (job.errorCode === undefined) return '';
  const entry = errorByCode(job.errorCode);
  const name = entry ? `${entry.name} (${job.errorCode})` : `error ${job.errorCode}`;
  const exit = job.exitCode === undefined ? '' : `, exit code ${job.exitCode}`;
  return ` ${name}${exit}${job.errorMessage ? `: ${job.errorMessage}` : ''}`;
}

/** One line per registered log of the job's attempts, with where it is stored. */
function logLines(job: JobView): string[] {
  if (!job.logs || job.logs.length === 0) return [];
  return [
    'Logs (wms logs <job> --attempt N):',
    ...job.logs.map(
      (log) => `  attempt ${log.attempt}: s3://${log.location.bucket}/${log.location.key} (${log.size} B)`,
    ),
  ];
}

export function explainJob(job: JobView, now: Date): string {
  return [explainState(job, now), ...logLines(job)].join('\n');
}

function explainState(job: JobView, now: Date): string {
  const head = `Job ${job.jobId} of task ${job.taskId} is ${job.state} (attempt ${job.attempt}, ${job.device}).`;
  if (job.waiting !== undefined) {
    const pilots = job.waiting.activePilotsForDevice;
    // A retried job keeps the error of its previous attempt: say why it is being run again.
    const retried = job.attempt > 0 && job.errorCode !== undefined && job.errorCode !== 0;
    return [
      head,
      waitingText(job.waiting, job),
      ...(retried ? [`Its previous attempt failed:${failureText(job)}`] : []),
      `${pilots} active pilot${pilots === 1 ? '' : 's'} can run ${job.waiting.device} jobs.`,
    ].join('\n');
  }
  switch (job.state) {
    case 'RUNNING':
      return [
        head,
        `It runs on pilot ${job.pilotId ?? '(unknown)'}${job.phase ? `, phase ${job.phase}` : ''}${job.startedAt ? `, for ${age(job.startedAt, now)}` : ''}.`,
      ].join('\n');
    case 'DONE':
      return [
        head,
        `It finished${job.endedAt ? ` at ${job.endedAt}` : ''} with ${job.outputs?.length ?? 0} output file(s).`,
      ].join('\n');
    case 'FAILED':
      return [head, `It failed for good:${failureText(job) || ' no error recorded.'}`].join('\n');
    case 'CANCELLED':
      return [head, 'Its task was cancelled before it ran to the end.'].join('\n');
    default:
      return head;
  }
}

/** Why waiting jobs of a task wait, in a few words per reason. */
const WAITING_WORDS: Record<JobWaiting['reason'], string> = {
  queued: 'in the device queue, for a pilot to take them',
  'no-pilot-for-device': 'no live pilot of the device',
  'lower-rank': 'tasks of higher rank are served first',
  'queue-full': 'no free slots: the device queue is as deep as the slots need',
  'retry-backoff': 'waiting out a retry delay',
  'lost-awaiting-retry': 'their pilot was lost; the watchdog retries them',
  'task-not-running': 'the task is not RUNNING',
  'task-held': 'the task is HELD (wms release)',
};

/** `wms analyze <task>`: failures by error and exit code, messages, pilots, and why jobs wait. */
export function analysisText(analysis: TaskAnalysisView): string {
  const lines = [
    `Task ${analysis.taskId} is ${analysis.state}: ${plural(analysis.jobs, 'job')}${analysis.truncated ? ' analysed (the first ones; the task has more)' : ''}, ${plural(analysis.failedAttempts, 'failed attempt')}, ${plural(analysis.retriedJobs, 'job')} retried.`,
  ];
  if (analysis.byErrorCode.length > 0) {
    lines.push(
      '',
      'Failures by error code (last failed attempt of each job):',
      table(
        ['>CODE', 'NAME', '>JOBS'],
        analysis.byErrorCode.map((entry) => [
          String(entry.code),
          entry.name ?? '(unknown)',
          String(entry.jobs),
        ]),
      ).replace(/^/gm, '  '),
    );
  }
  if (analysis.byExitCode.length > 0) {
    lines.push(
      '',
      `Exit codes: ${analysis.byExitCode.map((entry) => `${entry.exitCode} (${plural(entry.jobs, 'job')})`).join(', ')}`,
    );
  }
  if (analysis.topMessages.length > 0) {
    lines.push(
      '',
      'Most frequent messages:',
      ...analysis.topMessages.map((m) => `  ${m.jobs}× ${m.message}`),
    );
  }
  if (analysis.pilots.length > 0) {
    lines.push(
      '',
      'Pilots involved:',
      table(
        ['PILOT', 'HOST', '>FAILED', '>RUNNING'],
        analysis.pilots.map((p) => [p.pilotId, p.host ?? '-', String(p.failed), String(p.running)]),
      ).replace(/^/gm, '  '),
    );
  }
  if (analysis.waiting.length > 0) {
    lines.push(
      '',
      'Waiting jobs:',
      ...analysis.waiting.map((w) => `  ${plural(w.jobs, 'job')}: ${WAITING_WORDS[w.reason]}`),
    );
  }
  return lines.join('\n');
}
