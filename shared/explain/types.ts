import type { JobRecord, TaskRecord } from '../model/index.js';

/** What explainWaiting reads of a job; `retryAfter` is when a retried attempt may be dispatched. */
export type WaitingJob = Pick<JobRecord, 'state' | 'device' | 'retryAfter'>;

/** What explainWaiting reads of the job's task. */
export type WaitingTask = Pick<TaskRecord, 'state' | 'rank'>;

/** What the control plane sees around a job at the time of the question. */
export interface WaitingContext {
  /** The time of the question (ISO-8601). */
  now: string;
  /** ACTIVE or IDLE pilots able to run the job (GPU pilots also take CPU jobs). */
  activePilotsForDevice: number;
  /** Approximate number of messages waiting in the job's device queue. */
  queueDepth: number;
  /** Jobs ahead of this one in its device queue, when known more precisely than the depth. */
  queuePosition?: number;
  /** RUNNING tasks of the same device with READY jobs and a higher rank than the job's task. */
  higherRankedTasks: number;
}
