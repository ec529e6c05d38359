/**
 * Bodies and query strings of the REST API. Requests are strict (an unknown field is a
 * client bug and gets a 400). Responses built from stored records are stripping objects:
 * parsing a record for a response drops storage attributes (keys, GSI attributes), and the
 * job view omits the claim token, which only the claiming pilot may hold.
 */
import { z } from 'zod';
import {
  DatasetRecord,
  DeviceSchema,
  FILE_KINDS,
  FileKindSchema,
  FileRecord,
  Identifier,
  JobCounts,
  JobRecord,
  type JobState,
  JobStateSchema,
  PilotRecord,
  PilotStateSchema,
  Rank,
  TaskRecord,
  TaskSpec,
  TaskStateSchema,
} from '../shared/model/index.js';
import { PAGE_LIMIT } from './constants.js';
import { NextToken, PageLimit, Reason } from './fields.js';

/** POST /tasks: a task; `taskId` may be chosen by the caller, making a retried POST a no-op. */
export const RegisterTaskRequest = TaskSpec.extend({ taskId: Identifier.optional() }).strict();
export type RegisterTaskRequest = z.output<typeof RegisterTaskRequest>;

/** `created` is false when a task with that id already existed (the POST was a repeat). */
export const RegisterTaskResponse = z
  .object({ taskId: Identifier, state: TaskStateSchema, created: z.boolean() })
  .strict();
export type RegisterTaskResponse = z.output<typeof RegisterTaskResponse>;

/** POST /tasks/{id}/cancel. */
export const CancelTaskRequest = z.object({ reason: Reason }).strict();
export type CancelTaskRequest = z.output<typeof CancelTaskRequest>;

/** PUT /tasks/{id}/rank: the new base rank. */
export const RankUpdateRequest = z.object({ rank: Rank }).strict();
export type RankUpdateRequest = z.output<typeof RankUpdateRequest>;

const Count = z.number().int().min(0);

/** Where a task stands, from the job counters kept on the task item. */
export const JobProgress = z.object({
  jobs: JobCounts,
  jobsTotal: Count,
  /** Share of jobs in a terminal state (DONE, FAILED, CANCELLED); 0 while there are none. */
  percentDone: z.number().min(0).max(100),
});
export type JobProgress = z.output<typeof JobProgress>;

export const FileTotals = z.object({ count: Count, bytes: Count });
export type FileTotals = z.output<typeof FileTotals>;

/** Files of the task's input, output and log datasets. */
export const FilesByKind = z.object(
  Object.fromEntries(FILE_KINDS.map((kind) => [kind, FileTotals])) as Record<
    (typeof FILE_KINDS)[number],
    typeof FileTotals
  >,
);

/** A task in a list, its response to cancel and rank changes: the record and its job progress. */
export const TaskSummary = z.object({ ...TaskRecord.shape, progress: JobProgress });
export type TaskSummary = z.output<typeof TaskSummary>;

/** GET /tasks/{id}: the record, its job progress and its files by kind. */
export const TaskView = z.object({
  ...TaskRecord.shape,
  progress: z.object({ ...JobProgress.shape, files: FilesByKind }),
});
export type TaskView = z.output<typeof TaskView>;

/** Why a job is not running yet, for the people waiting on it. */
export const WAITING_REASONS = [
  /** In its device queue; a pilot will take it. */
  'queued',
  /** No active pilot serves the job's device. */
  'no-pilot-for-device',
  /** Tasks of higher rank are being served first. */
  'lower-rank',
  /** The device queue is as deep as the active pilot slots need (controlled loading). */
  'queue-full',
  /** A failed attempt waits for its retry delay. */
  'retry-backoff',
  /** Its pilot was lost; the watchdog returns the job to READY. */
  'lost-awaiting-retry',
  /** The task is not RUNNING, so none of its jobs is dispatched. */
  'task-not-running',
] as const;

export const JobWaiting = z.object({
  reason: z.enum(WAITING_REASONS),
  device: DeviceSchema,
  /** Jobs ahead of this one in its device queue, when it is queued. */
  queuePosition: Count.optional(),
  taskRank: Rank,
  activePilotsForDevice: Count,
});
export type JobWaiting = z.output<typeof JobWaiting>;

const WAITING_STATES: readonly JobState[] = ['READY', 'QUEUED', 'LOST'];

/** GET /jobs/{id}: the record without its claim token, and why it waits when it waits. */
export const JobView = z
  .object({ ...JobRecord.omit({ claimToken: true }).shape, waiting: JobWaiting.optional() })
  .refine((job) => job.waiting === undefined || WAITING_STATES.includes(job.state), {
    message: 'only a READY, QUEUED or LOST job waits',
    path: ['waiting'],
  });
export type JobView = z.output<typeof JobView>;

export const DatasetView = DatasetRecord;
export type DatasetView = z.output<typeof DatasetView>;

function page<Item extends z.ZodType>(item: Item) {
  return z.object({ items: z.array(item).max(PAGE_LIMIT.max), nextToken: NextToken.optional() });
}

/** GET /tasks. */
export const TaskList = page(TaskSummary);
export type TaskList = z.output<typeof TaskList>;
/** GET /tasks/{id}/jobs: jobs without their waiting explanation (that is per job, on GET /jobs/{id}). */
export const JobList = page(JobRecord.omit({ claimToken: true }));
export type JobList = z.output<typeof JobList>;
/** GET /tasks/{id}/files. */
export const FileList = page(FileRecord);
export type FileList = z.output<typeof FileList>;
/** GET /pilots. */
export const PilotList = page(PilotRecord);
export type PilotList = z.output<typeof PilotList>;

const pageQuery = { limit: PageLimit, nextToken: NextToken.optional() };

/** GET /tasks?limit=&nextToken=&state= */
export const TaskListQuery = z.object({ ...pageQuery, state: TaskStateSchema.optional() }).strict();
export type TaskListQuery = z.output<typeof TaskListQuery>;
/** GET /tasks/{id}/jobs?limit=&nextToken=&state= */
export const JobListQuery = z.object({ ...pageQuery, state: JobStateSchema.optional() }).strict();
export type JobListQuery = z.output<typeof JobListQuery>;
/** GET /tasks/{id}/files?limit=&nextToken=&kind= */
export const FileListQuery = z.object({ ...pageQuery, kind: FileKindSchema.optional() }).strict();
export type FileListQuery = z.output<typeof FileListQuery>;
/** GET /pilots?limit=&nextToken=&state= */
export const PilotListQuery = z.object({ ...pageQuery, state: PilotStateSchema.optional() }).strict();
export type PilotListQuery = z.output<typeof PilotListQuery>;

/** The body of every 4xx/5xx response; `issues` name the bad fields of a 400. */
export const ErrorResponse = z
  .object({
    error: z
      .object({
        code: z.string().min(1).max(64),
        message: z.string().max(4096),
        issues: z.array(z.object({ path: z.string(), message: z.string() }).strict()).optional(),
      })
      .strict(),
  })
  .strict();
export type ErrorResponse = z.output<typeof ErrorResponse>;
