import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ConditionFailedError } from '../errors/index.js';
import type { JobRecord, JobState } from '../model/index.js';
import type { TableNames } from './tables.js';

/** An item as the document client returns it. */
export type StoredItem = Record<string, unknown>;

/** What every repository needs: the document client, the table names and a clock. */
export interface RepositoryDeps {
  doc: DynamoDBDocumentClient;
  tables: TableNames;
  /** The current time; injectable so tests control timestamps. */
  clock?: () => Date;
}

export interface PageRequest {
  /** Items per page (default 100, at most 1000). */
  limit?: number;
  /** The `cursor` of the previous page. */
  cursor?: string;
}

export interface Page<T> {
  items: T[];
  /** Present when more items may follow. */
  cursor?: string;
}

/** Identifies one attempt of a job; every change to a job is guarded by it. */
export interface JobRef {
  jobId: string;
  taskId: string;
  attempt: number;
}

/** A job change the caller expects to find in state `from` (which decides the counter moved). */
export interface JobStateRef extends JobRef {
  from: JobState;
}

/** What the `inFlight` and `byPilot` indexes hold of a job. */
export interface JobSummary {
  jobId: string;
  taskId: string;
  state: JobState;
  attempt: number;
  pilotId?: string;
  updatedAt: string;
}

/** A job a batch did not change, with why, and the job as it was when refused (if it exists). */
export interface JobRefusal {
  job: JobStateRef;
  error: ConditionFailedError;
  current?: JobRecord;
}

export interface JobBatchResult {
  /** Changed now. */
  applied: JobStateRef[];
  /** Already in the target state at the same attempt: a repeated request, nothing to do. */
  unchanged: JobStateRef[];
  refused: JobRefusal[];
}
