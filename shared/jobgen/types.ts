import type { FileRef } from '../model/index.js';

export type { FileRef };

/** One job to create: its deterministic id and its input files in name order. */
export interface PlannedJob {
  jobId: string;
  inputs: FileRef[];
}

export interface JobPlan {
  jobs: PlannedJob[];
  /** Files left for a later call: a streaming merge task's incomplete last chunk. */
  unplanned: FileRef[];
}

export interface JobPlanOptions {
  /** True once the input dataset is closed: the last, partial merge chunk becomes a job too. */
  final: boolean;
}
