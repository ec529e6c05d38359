/**
 * Bodies and query strings of the REST API. Requests are strict (an unknown field is a
 * client bug and gets a 400). Responses built from stored records are stripping objects:
 * parsing a record for a response drops storage attributes (keys, GSI attributes), and the
 * job view omits the claim token and its request id, which only the claiming pilot may hold.
 */
import { z } from 'zod';
import { INVARIANTS } from '../shared/audit/index.js';
import {
  Checksum,
  DatasetRecord,
  DeviceSchema,
  FILE_KINDS,
  FileKindSchema,
  FileRecord,
  Identifier,
  JobCounts,
  JobRecord,
  JobStateSchema,
  LIMITS,
  ObjectLocation,
  PilotRecord,
  PilotStateSchema,
  Rank,
  TaskRecord,
  TaskSpec,
  TaskStateSchema,
  Timestamp,
} from '../shared/model/index.js';
import { isOneOf, WAITING_JOB_STATES } from '../shared/states/index.js';
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

/** Where a task stands, from its job counters (the sum of its counter shards). */
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
  /** An operator holds the task (wms hold): none of its jobs is dispatched until it is released. */
  'task-held',
] as const;

/** What only the claiming pilot may hold. */
const PILOT_ONLY = { claimToken: true, claimRequestId: true } as const;

export const JobWaiting = z.object({
  reason: z.enum(WAITING_REASONS),
  device: DeviceSchema,
  /** Jobs ahead of this one in its device queue, when it is queued. */
  queuePosition: Count.optional(),
  taskRank: Rank,
  activePilotsForDevice: Count,
});
export type JobWaiting = z.output<typeof JobWaiting>;

/** A registered log of one attempt of a job (`wms logs <job> --attempt N` prints it). */
export const AttemptLog = z.object({
  attempt: Count,
  name: z.string(),
  location: ObjectLocation,
  size: Count,
});
export type AttemptLog = z.output<typeof AttemptLog>;

/**
 * GET /jobs/{id}: the record without its claim token, why it waits when it waits, and the logs
 * its attempts registered.
 */
export const JobView = z
  .object({
    ...JobRecord.omit(PILOT_ONLY).shape,
    waiting: JobWaiting.optional(),
    logs: z
      .array(AttemptLog)
      .max(LIMITS.maxRetries + 2)
      .optional(),
  })
  .refine((job) => job.waiting === undefined || isOneOf(WAITING_JOB_STATES, job.state), {
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
export const JobList = page(JobRecord.omit(PILOT_ONLY));
export type JobList = z.output<typeof JobList>;
/** GET /tasks/{id}/files. */
export const FileList = page(FileRecord);
export type FileList = z.output<typeof FileList>;
/**
 * A pilot as the API lists it: its record with the jobs its last heartbeat reported counted, not
 * listed (up to 1,024 a pilot: hundreds of busy pilots would make a listing megabytes). The jobs
 * it stopped reporting stay listed: they are few, and they are what an operator looks for.
 */
export const PilotView = PilotRecord.omit({ reportedJobs: true }).extend({
  /** The job attempts its last heartbeat reported; absent before its first heartbeat with jobs. */
  reportedJobCount: z.number().int().min(0).max(1024).optional(),
});
export type PilotView = z.output<typeof PilotView>;

/** GET /pilots. */
export const PilotList = page(PilotView);
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

/** POST /audit: at most this many tasks drawn at random when no task is named. */
export const AUDIT_MAX_TASKS = 1000;

/**
 * POST /audit: the consistency audit (design §9) of one task, or of every task (a random
 * sample of `maxTasks` when given); `repair` applies the safe repairs of what it finds.
 */
export const AuditRequest = z
  .object({
    taskId: Identifier.optional(),
    repair: z.boolean().default(false),
    maxTasks: z.number().int().min(1).max(AUDIT_MAX_TASKS).optional(),
  })
  .strict()
  .refine((request) => request.taskId === undefined || request.maxTasks === undefined, {
    message: 'name a task or a sample size, not both',
    path: ['maxTasks'],
  });
export type AuditRequest = z.output<typeof AuditRequest>;

const AuditRepairView = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('recount-task'),
    taskId: Identifier,
    counts: JobCounts,
    jobsTotal: Count,
    expected: z.object({ counts: JobCounts, jobsTotal: Count }),
  }),
  z.object({
    kind: z.literal('register-file'),
    file: z.object({
      datasetUid: Identifier,
      name: z.string(),
      kind: z.enum(['output', 'log']),
      location: ObjectLocation,
      size: Count,
      checksum: Checksum,
      jobId: Identifier,
    }),
  }),
  z.object({
    kind: z.literal('mark-job-lost'),
    job: z.object({
      jobId: Identifier,
      taskId: Identifier,
      attempt: Count,
      pilotId: Identifier.optional(),
    }),
  }),
]);

/** A broken invariant; `repair` is what the audit can safely do about it, when it can. */
export const AuditFindingView = z.object({
  invariant: z.enum(INVARIANTS),
  entity: z.object({ kind: z.enum(['task', 'job', 'dataset', 'file']), id: z.string() }),
  detail: z.string(),
  repairable: z.boolean(),
  repair: AuditRepairView.optional(),
});
export type AuditFindingView = z.output<typeof AuditFindingView>;

/** POST /audit response: what was looked at, what is wrong, and what the repairs did. */
export const AuditReportView = z.object({
  tasks: Count,
  jobs: Count,
  datasets: Count,
  objects: Count,
  pilots: Count,
  /** Objects storage did not answer for (other than "does not exist"): not judged. */
  unreadableObjects: z.array(z.string()),
  findings: z.array(AuditFindingView),
  /** With `repair`: one entry per repairable finding; `applied` false when its guard refused. */
  repairs: z.array(z.object({ finding: AuditFindingView, applied: z.boolean() })),
  /** `file.registered` events published for the files the repairs registered. */
  eventsPublished: Count,
});
export type AuditReportView = z.output<typeof AuditReportView>;

/** Messages of a dead-letter queue shown by GET /dead-letters, and characters of each body. */
export const DEAD_LETTER_PEEK = { messages: 10, bodyChars: 2048 } as const;
/** POST /dead-letters/{queue}/redrive moves at most this many messages per call. */
export const REDRIVE_MAX_MESSAGES = 1000;

/** A dead-lettered message, as seen without consuming it. */
export const DeadLetterMessage = z.object({
  messageId: z.string().min(1),
  sentAt: Timestamp.optional(),
  /** Deliveries at the source before it was dead-lettered (`wms-receive-count`), when recorded. */
  receiveCount: Count.optional(),
  /** `wms-error-code` and `wms-error-reason`: why a consumer dead-lettered it; absent when SQS moved it. */
  errorCode: z.string().optional(),
  errorReason: z.string().optional(),
  /** The body, cut to DEAD_LETTER_PEEK.bodyChars characters. */
  body: z.string().max(DEAD_LETTER_PEEK.bodyChars),
  bodyTruncated: z.boolean(),
});
export type DeadLetterMessage = z.output<typeof DeadLetterMessage>;

/** A dead-letter queue of the stack, by the name of what it catches dead letters of. */
export const DeadLetterQueueView = z.object({
  name: Identifier,
  /** The queue a redrive sends messages back to; null when they cannot be redriven. */
  source: Identifier.nullable(),
  /** Messages waiting (visible), and being received right now (in flight). */
  depth: Count,
  inFlight: Count,
  messages: z.array(DeadLetterMessage).max(DEAD_LETTER_PEEK.messages),
});
export type DeadLetterQueueView = z.output<typeof DeadLetterQueueView>;

/** GET /dead-letters. */
export const DeadLetterList = z.object({ queues: z.array(DeadLetterQueueView) });
export type DeadLetterList = z.output<typeof DeadLetterList>;

/** POST /dead-letters/{queue}/redrive body. */
export const RedriveRequest = z
  .object({ maxMessages: z.number().int().min(1).max(REDRIVE_MAX_MESSAGES).default(100) })
  .strict();
export type RedriveRequest = z.output<typeof RedriveRequest>;

/** POST /dead-letters/{queue}/redrive response. */
export const RedriveReport = z.object({
  queue: Identifier,
  source: Identifier,
  /** Messages sent back to the source and deleted from the dead-letter queue. */
  moved: Count,
  /** Messages left in the dead-letter queue (approximate, as SQS counts). */
  remaining: Count,
});
export type RedriveReport = z.output<typeof RedriveReport>;

/** Active tasks and live pilots GET /dashboard/summary lists at most. */
export const DASHBOARD_LIMITS = { tasks: 200, pilots: 500 } as const;

/** GET /dashboard/summary: what the dashboard shows, read in one call. */
export const DashboardSummary = z.object({
  generatedAt: Timestamp,
  /** RUNNING, HELD and REGISTERED tasks, oldest first; `tasksTruncated` when there are more. */
  tasks: z.array(TaskSummary).max(DASHBOARD_LIMITS.tasks),
  tasksTruncated: z.boolean(),
  /** ACTIVE and IDLE pilots. */
  pilots: z.array(PilotView).max(DASHBOARD_LIMITS.pilots),
  pilotsTruncated: z.boolean(),
  deadLetters: z.array(z.object({ name: Identifier, depth: Count })),
});
export type DashboardSummary = z.output<typeof DashboardSummary>;

/** The minutes GET /dashboard/history returns by default (a reload shows the last hour), and at most. */
export const DASHBOARD_HISTORY_MINUTES = { default: 60, max: 1440 } as const;

/** GET /dashboard/history?minutes= */
export const DashboardHistoryQuery = z
  .object({
    minutes: z.coerce
      .number()
      .int()
      .min(1)
      .max(DASHBOARD_HISTORY_MINUTES.max)
      .default(DASHBOARD_HISTORY_MINUTES.default),
  })
  .strict();
export type DashboardHistoryQuery = z.output<typeof DashboardHistoryQuery>;

/** One minute of throughput: jobs that ended DONE, and jobs that ended FAILED (no retry left). */
export const ThroughputMinute = z.object({ minute: Timestamp, done: Count, failed: Count });

/** GET /dashboard/history: jobs finished per minute, oldest first, the current minute last. */
export const DashboardHistory = z.object({
  generatedAt: Timestamp,
  /** Where the record is kept: CloudWatch metrics, or per-minute counters in the Control table. */
  source: z.enum(['cloudwatch', 'control-table']),
  points: z.array(ThroughputMinute).max(DASHBOARD_HISTORY_MINUTES.max),
});
export type DashboardHistory = z.output<typeof DashboardHistory>;

// Operator control: hold and release, retry, pilot commands, job logs, dead-letter view and purge.

/** POST /tasks/{id}/hold and /release: the task after the change, and whether this call made it. */
export const TaskHoldResponse = z.object({ task: TaskSummary, changed: z.boolean() });
export type TaskHoldResponse = z.output<typeof TaskHoldResponse>;

/** POST /jobs/{id}/retry, POST /tasks/{id}/retry (its failed jobs): what became of each job. */
export const RetryReportView = z.object({
  /** Jobs now READY with their next attempt. */
  retried: z.array(z.object({ jobId: Identifier, attempt: Count })),
  /** Jobs an earlier request retried already. */
  unchanged: z.array(Identifier),
  refused: z.array(z.object({ jobId: Identifier, reason: z.string() })),
  /** More failed jobs are left than one request retries: repeat it. */
  more: z.boolean(),
});
export type RetryReportView = z.output<typeof RetryReportView>;

/** POST /pilots/{id}/drain and /kill: the pilot the command was sent to. */
export const PilotCommandResponse = z.object({
  pilotId: Identifier,
  command: z.enum(['pilot.drain', 'pilot.kill']),
  state: PilotStateSchema,
});
export type PilotCommandResponse = z.output<typeof PilotCommandResponse>;

/**
 * GET /jobs/{id}?taskId=: the job's task, needed once an archived task's job items have
 * expired (the job is then read from its task's export).
 */
export const JobQuery = z.object({ taskId: Identifier.optional() }).strict();
export type JobQuery = z.output<typeof JobQuery>;

/** GET /jobs/{id}/log?attempt=: the attempt's log (its latest attempt when not given). */
export const JobLogQuery = z
  .object({
    attempt: z.coerce.number().int().min(0).optional(),
    /** The job's task, needed once an archived task's job items have expired (as for GET /jobs/{id}). */
    taskId: Identifier.optional(),
  })
  .strict();
export type JobLogQuery = z.output<typeof JobLogQuery>;

/** The log of one attempt of a job; its last LOG_MAX_BYTES when longer (`truncated`). */
export const JobLogView = z.object({
  jobId: Identifier,
  attempt: Count,
  location: ObjectLocation,
  /** The whole log's size in bytes. */
  size: Count,
  text: z.string(),
  truncated: z.boolean(),
});
export type JobLogView = z.output<typeof JobLogView>;

/** GET /dead-letters/{queue}/messages shows at most this many messages, each body cut to `bodyChars`. */
export const DEAD_LETTER_SHOW = { messages: 50, bodyChars: 16_384 } as const;

/** GET /dead-letters/{queue}/messages?limit= */
export const DeadLetterMessagesQuery = z
  .object({ limit: z.coerce.number().int().min(1).max(DEAD_LETTER_SHOW.messages).default(10) })
  .strict();
export type DeadLetterMessagesQuery = z.output<typeof DeadLetterMessagesQuery>;

/** GET /dead-letters/{queue}/messages: messages shown and left in the queue. */
export const DeadLetterMessages = z.object({
  queue: Identifier,
  depth: Count,
  messages: z.array(DeadLetterMessage.extend({ body: z.string().max(DEAD_LETTER_SHOW.bodyChars) })),
});
export type DeadLetterMessages = z.output<typeof DeadLetterMessages>;

/** POST /dead-letters/{queue}/purge: `confirm` must be the queue's name. */
export const PurgeRequest = z.object({ confirm: Identifier }).strict();
export type PurgeRequest = z.output<typeof PurgeRequest>;

/** POST /dead-letters/{queue}/purge response: how many messages were deleted (approximately, as SQS counts). */
export const PurgeReport = z.object({ queue: Identifier, purged: Count });
export type PurgeReport = z.output<typeof PurgeReport>;

/** GET /tasks/{id}/analysis: a task's failures by code, the pilots involved, and why its jobs wait. */
export const TaskAnalysisView = z.object({
  taskId: Identifier,
  state: TaskStateSchema,
  jobs: Count,
  /** The task has more jobs than one analysis reads: the counts are of its first ones. */
  truncated: z.boolean(),
  failedAttempts: Count,
  retriedJobs: Count,
  byErrorCode: z.array(z.object({ code: z.number().int(), name: z.string().optional(), jobs: Count })),
  byExitCode: z.array(z.object({ exitCode: z.number().int(), jobs: Count })),
  topMessages: z.array(z.object({ message: z.string(), jobs: Count })),
  pilots: z.array(
    z.object({ pilotId: Identifier, host: z.string().optional(), failed: Count, running: Count }),
  ),
  waiting: z.array(z.object({ reason: z.enum(WAITING_REASONS), jobs: Count })),
});
export type TaskAnalysisView = z.output<typeof TaskAnalysisView>;

/**
 * GET /pilot-config: what a pilot's configuration file takes from the deployment besides the
 * API's URL (which the caller knows): its region, the device and status queues.
 */
export const PilotEndpoints = z.object({
  region: z.string().min(1),
  jobQueueUrls: z.object({ CPU: z.url(), GPU: z.url() }),
  statusQueueUrl: z.url(),
});
export type PilotEndpoints = z.output<typeof PilotEndpoints>;
