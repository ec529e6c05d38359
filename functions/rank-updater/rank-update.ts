/**
 * The rank update of design §7 for tasks whose jobs were retried: each retried job raises its
 * task's rank once (β per job), on top of the aging the task has accrued.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { z } from 'zod';
import { ConditionFailedError } from '../../shared/errors/index.js';
import { Identifier, JobStateSchema } from '../../shared/model/index.js';
import { nextRank, type RankParamsInput } from '../../shared/rank/index.js';
import type { Repositories } from '../../shared/repositories/index.js';
import { updateRank, waitedSeconds } from '../../shared/services/index.js';
import { TERMINAL_TASK_STATES } from '../../shared/states/index.js';
import type { ChangeRecord } from '../common/index.js';

/** The Control item per task listing the retries already counted in its rank. */
export const RETRY_MARKS_PREFIX = 'rank-updater/retries/';
/** Retries remembered per task; a redelivery comes within minutes, long before these are pushed out. */
export const RETRY_MARKS_KEPT = 1000;

/** What the rank update reads of a job stream image. */
export const JobImage = z.object({
  jobId: Identifier,
  taskId: Identifier,
  state: JobStateSchema,
  attempt: z.number().int().min(0),
});
export type JobImage = z.infer<typeof JobImage>;

const RetryMarks = z.object({ counted: z.array(z.string()).max(RETRY_MARKS_KEPT) });

export interface RetriedJob {
  jobId: string;
  taskId: string;
  attempt: number;
}

/**
 * The retry a stream record shows, if any: the job is READY at a new attempt above 0. A job
 * re-queued at the same attempt (or any other change of a READY job) is no retry.
 */
export function retryOf(change: ChangeRecord<JobImage>): RetriedJob | undefined {
  const job = change.newImage;
  if (job?.state !== 'READY' || job.attempt === 0) return undefined;
  if (change.oldImage?.attempt === job.attempt) return undefined;
  return { jobId: job.jobId, taskId: job.taskId, attempt: job.attempt };
}

function markOf(job: RetriedJob): string {
  return `${job.jobId}#${job.attempt}`;
}

export interface RankUpdateDeps {
  repos: Pick<Repositories, 'tasks' | 'control'>;
  rank: RankParamsInput;
  logger: Logger;
  clock?: () => Date;
}

export interface TaskBoost {
  taskId: string;
  /** Retries counted now (a redelivered retry counts once). */
  counted: number;
  /** The rank written, when it changed. */
  rank?: number;
}

/**
 * Raises a task's rank for its retried jobs. The retries are first recorded as counted in the
 * task's Control item (conditional on its version: a concurrent update makes this throw, and
 * the stream retries the records), then the rank is written under the task's version. A
 * crash between the two loses this boost rather than ever applying it twice.
 */
export async function boostRetriedTask(
  deps: RankUpdateDeps,
  taskId: string,
  retries: readonly RetriedJob[],
): Promise<TaskBoost> {
  const key = `${RETRY_MARKS_PREFIX}${taskId}`;
  const marks = await deps.repos.control.get(key, RetryMarks);
  const seen = new Set(marks?.value.counted ?? []);
  const fresh = [...new Set(retries.map(markOf))].filter((mark) => !seen.has(mark));
  if (fresh.length === 0) return { taskId, counted: 0 };
  const task = await deps.repos.tasks.find(taskId);
  if (!task || TERMINAL_TASK_STATES.includes(task.state)) return { taskId, counted: 0 };
  const counted = [...(marks?.value.counted ?? []), ...fresh].slice(-RETRY_MARKS_KEPT);
  await deps.repos.control.put(key, { counted }, marks?.version);
  const now = (deps.clock ?? (() => new Date()))();
  try {
    const rank = await updateRank(deps.repos, task, (current) =>
      nextRank(
        {
          baseRank: current.baseRank,
          rank: current.rank,
          waitedSeconds: waitedSeconds(current, now),
          retryJobs: fresh.length,
        },
        deps.rank,
      ),
    );
    if (rank !== undefined)
      deps.logger.info('task rank raised for retries', {
        taskId,
        retries: fresh.length,
        from: task.rank,
        to: rank,
      });
    return { taskId, counted: fresh.length, ...(rank === undefined ? {} : { rank }) };
  } catch (error) {
    if (!(error instanceof ConditionFailedError)) throw error;
    deps.logger.warn('retry boost dropped: the task kept changing', { taskId, retries: fresh.length });
    return { taskId, counted: fresh.length };
  }
}
