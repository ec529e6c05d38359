import type { JobWaiting } from '../../events/index.js';
import { isOneOf, WAITING_JOB_STATES } from '../states/index.js';
import type { WaitingContext, WaitingJob, WaitingTask } from './types.js';

/**
 * Why a job is not running, or undefined when it does not wait (it runs or has ended). The
 * first reason that holds wins, from the most fundamental: a held task, or one not RUNNING, has
 * nothing dispatched; a LOST job waits for the watchdog; a retried attempt waits out its
 * backoff; no live pilot serves the device; a QUEUED job waits for a pilot to take it; a
 * READY job waits behind tasks of higher rank, or, without such competition, for room in
 * its device queue (controlled loading keeps it only as deep as the pilot slots need).
 */
export function explainWaiting(
  job: WaitingJob,
  task: WaitingTask,
  context: WaitingContext,
): JobWaiting | undefined {
  if (!isOneOf(WAITING_JOB_STATES, job.state)) return undefined;
  const because = (reason: JobWaiting['reason']): JobWaiting => ({
    reason,
    device: job.device,
    taskRank: task.rank,
    activePilotsForDevice: context.activePilotsForDevice,
  });
  if (task.state === 'HELD') return because('task-held');
  if (task.state !== 'RUNNING') return because('task-not-running');
  if (job.state === 'LOST') return because('lost-awaiting-retry');
  if (
    job.state === 'READY' &&
    job.retryAfter !== undefined &&
    Date.parse(job.retryAfter) > Date.parse(context.now)
  ) {
    return because('retry-backoff');
  }
  if (context.activePilotsForDevice === 0) return because('no-pilot-for-device');
  if (job.state === 'QUEUED') {
    // The job's own message is among those counted, so at most depth - 1 are ahead of it.
    const queuePosition = context.queuePosition ?? Math.max(0, context.queueDepth - 1);
    return { ...because('queued'), queuePosition };
  }
  return because(context.higherRankedTasks > 0 ? 'lower-rank' : 'queue-full');
}
