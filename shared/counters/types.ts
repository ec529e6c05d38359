import type { JobCounts, JobState } from '../model/index.js';

/** A task's counters, or one shard's part of them. */
export interface Counters {
  counts: JobCounts;
  jobsTotal: number;
}

/** One job entering a state: `from` absent for a new job (which also adds to jobsTotal). */
export interface JobMove {
  jobId: string;
  from?: JobState;
  to: JobState;
}

/** What moves one shard's counters: per-state amounts to add (never zero) and to jobsTotal. */
export interface CounterDelta {
  counts: Partial<Record<JobState, number>>;
  jobsTotal: number;
}
