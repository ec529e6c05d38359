import { z } from 'zod';
import { ARCHIVE_PENDING, JOB_STATES, LIMITS } from './constants.js';
import {
  Args,
  Checksum,
  DatasetKindSchema,
  DatasetName,
  DatasetStateSchema,
  DegradedCapabilitySchema,
  DeviceSchema,
  Executable,
  FileKindSchema,
  FileName,
  FileRef,
  Identifier,
  JobModeSchema,
  JobPhaseSchema,
  JobStateSchema,
  ObjectLocation,
  PilotStateSchema,
  Rank,
  SizeBytes,
  TaskStateSchema,
  Timestamp,
} from './schemas.js';

/** Per-state job counts of a task: the sum of its counter shards, each moved in the same transaction as its jobs. */
export const JobCounts = z.object(
  Object.fromEntries(JOB_STATES.map((s) => [s, z.number().int().min(0)])) as Record<
    (typeof JOB_STATES)[number],
    z.ZodNumber
  >,
);
export type JobCounts = z.infer<typeof JobCounts>;

/** What a task asks for; shared by the API body, the task.submitted event and the record. */
export const TaskSpec = z
  .object({
    name: Identifier,
    workflowId: Identifier.optional(),
    executable: Executable,
    args: Args.default([]),
    device: DeviceSchema,
    mode: JobModeSchema.default('map'),
    /** Files per job in merge mode (1 in map mode). */
    filesPerJob: z.number().int().min(1).max(LIMITS.filesPerJob).default(1),
    maxRetries: z.number().int().min(0).max(LIMITS.maxRetries).default(3),
    rank: Rank.default(1),
    inputDatasetUid: Identifier,
    outputDataset: DatasetName,
    logDataset: DatasetName,
    /** Streaming tasks make a job per file as soon as it is registered, not on dataset close. */
    streaming: z.boolean().default(false),
    /** Fraction of jobs allowed to fail with the task still DONE. */
    failureTolerance: z.number().min(0).max(1).default(0),
    wallTimeSeconds: z
      .number()
      .int()
      .min(1)
      .max(7 * 24 * 3600)
      .default(3600),
    coresPerJob: z.number().int().min(1).max(256).default(1),
    /**
     * Memory a job may use, in bytes (its cgroup's limit); a pilot lowers it to its site's
     * maximum. The pilot's default when absent.
     */
    memoryBytes: z
      .number()
      .int()
      .min(16 * 1024 ** 2)
      .max(16 * 1024 ** 4)
      .optional(),
  })
  .strict();
export type TaskSpec = z.infer<typeof TaskSpec>;

/**
 * A finished task's export (shared/archive): where it is, its line counts and sha256, when the
 * mark was written (once the object was complete) and, once every exported item carries it,
 * when DynamoDB may delete them (`expiresAt`, epoch seconds).
 */
export const TaskArchive = z
  .object({
    key: z.string().min(1).max(1024),
    jobs: z.number().int().min(0),
    files: z.number().int().min(0),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits'),
    archivedAt: Timestamp,
    expiresAt: z.number().int().min(0).optional(),
  })
  .strict();
export type TaskArchive = z.infer<typeof TaskArchive>;

export const TaskRecord = TaskSpec.extend({
  taskId: Identifier,
  state: TaskStateSchema,
  /** The rank the WfMS or an operator set; `rank` is the effective (aged/boosted) value. */
  baseRank: Rank,
  counts: JobCounts,
  jobsTotal: z.number().int().min(0),
  /** Set once job generation has produced every job (input dataset closed and consumed). */
  generationComplete: z.boolean(),
  /** Last time a job of this task was dispatched; drives aging. */
  lastServedAt: Timestamp.optional(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  endedAt: Timestamp.optional(),
  version: z.number().int().min(0),
  /** Set once the task's jobs and files are exported; its readers then read the export. */
  archive: TaskArchive.optional(),
  /** From its final state until its archival is over: the key of the Tasks `toArchive` index. */
  archivePending: z.literal(ARCHIVE_PENDING).optional(),
});
export type TaskRecord = z.infer<typeof TaskRecord>;

/** How many counter shards a task has: fixed when it is created, so its jobs always count on the same shard. */
export const CounterShardCount = z.number().int().min(1).max(LIMITS.counterShards);

/** The task item as stored: a task's counters live in its counter shards, not on it. */
export const TaskItem = TaskRecord.omit({ counts: true, jobsTotal: true }).extend({
  counterShards: CounterShardCount,
});
export type TaskItem = z.infer<typeof TaskItem>;

/**
 * One shard of a task's counters, an item of the Tasks table keyed `<taskId>#counters#<shard>`
 * (`#` never occurs in a task id). It counts the jobs whose id picks it, carries the task's
 * state (`taskState`, set with the task's in one transaction) for the job changes that depend on
 * it, and the last dispatch of one of its jobs. It has none of the attributes the task indexes
 * use, so it never appears in them.
 */
export const TaskCounterShard = z.object({
  taskId: z.string(),
  counterOf: Identifier,
  shard: z
    .number()
    .int()
    .min(0)
    .max(LIMITS.counterShards - 1),
  taskState: TaskStateSchema,
  counts: JobCounts,
  jobsTotal: z.number().int().min(0),
  lastServedAt: Timestamp.optional(),
});
export type TaskCounterShard = z.infer<typeof TaskCounterShard>;

export const PhaseTimes = z
  .object({
    CLAIMED: Timestamp.optional(),
    STAGE_IN: Timestamp.optional(),
    EXECUTING: Timestamp.optional(),
    STAGE_OUT: Timestamp.optional(),
  })
  .strict();

export const OutputFile = z
  .object({
    name: FileName,
    kind: FileKindSchema.exclude(['input']),
    location: ObjectLocation,
    size: SizeBytes,
    checksum: Checksum,
  })
  .strict();
export type OutputFile = z.infer<typeof OutputFile>;

export const JobRecord = z.object({
  jobId: Identifier,
  taskId: Identifier,
  state: JobStateSchema,
  phase: JobPhaseSchema.optional(),
  /** 0 on first run; +1 on each retry. Every state change is guarded by it. */
  attempt: z.number().int().min(0),
  device: DeviceSchema,
  rank: Rank,
  inputs: z.array(FileRef).min(1).max(LIMITS.filesPerJob),
  pilotId: Identifier.optional(),
  /** Random token issued at claim; a pilot must present it to report. */
  claimToken: z.string().optional(),
  /** The claim request that won the attempt: its retries get the same claim token. */
  claimRequestId: z.string().optional(),
  errorCode: z.number().int().optional(),
  errorMessage: z.string().max(4096).optional(),
  exitCode: z.number().int().optional(),
  outputs: z.array(OutputFile).max(LIMITS.outputsPerJob).optional(),
  phaseTimes: PhaseTimes.optional(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  queuedAt: Timestamp.optional(),
  startedAt: Timestamp.optional(),
  endedAt: Timestamp.optional(),
  /** A retried attempt is not dispatched before this time (its backoff); absent otherwise. */
  retryAfter: Timestamp.optional(),
});
export type JobRecord = z.infer<typeof JobRecord>;

export const FileRecord = z.object({
  datasetUid: Identifier,
  name: FileName,
  kind: FileKindSchema,
  location: ObjectLocation,
  size: SizeBytes,
  checksum: Checksum,
  /** The job that produced it (outputs and logs). */
  jobId: Identifier.optional(),
  registeredAt: Timestamp,
});
export type FileRecord = z.infer<typeof FileRecord>;

export const DatasetRecord = z.object({
  uid: Identifier,
  name: DatasetName,
  kind: DatasetKindSchema,
  state: DatasetStateSchema,
  fileCount: z.number().int().min(0),
  totalBytes: z.number().int().min(0),
  /** The task that writes it (output and log datasets). */
  producerTaskId: Identifier.optional(),
  createdAt: Timestamp,
  closedAt: Timestamp.optional(),
  version: z.number().int().min(0),
});
export type DatasetRecord = z.infer<typeof DatasetRecord>;

export const PilotRecord = z.object({
  pilotId: Identifier,
  host: z.string().min(1).max(255),
  device: DeviceSchema,
  slots: z.number().int().min(1).max(1024),
  busySlots: z.number().int().min(0).max(1024),
  state: PilotStateSchema,
  version: z.string().max(64),
  /** What the pilot cannot do to isolate its payloads on its node (none when absent). */
  degraded: z.array(DegradedCapabilitySchema).max(8).optional(),
  controlQueueUrl: z.string().url().optional(),
  /**
   * Who registered it, as the API verified the caller (see shared/identity): only this
   * principal may act for the pilot. Absent on records written before identities were kept.
   */
  callerId: z.string().min(1).max(256).optional(),
  /** The same caller's ARN, shown to operators. */
  callerArn: z.string().min(1).max(2048).optional(),
  startedAt: Timestamp,
  lastHeartbeatAt: Timestamp,
  /** The job attempts its last heartbeat said it holds (none before its first heartbeat). */
  reportedJobs: z
    .array(z.object({ jobId: Identifier, attempt: z.number().int().min(0) }).strict())
    .max(1024)
    .optional(),
  /**
   * Its RUNNING jobs its heartbeats have stopped reporting, each with the first such heartbeat
   * (kept by the watchdog, which retries a job left unreported too long).
   */
  unreportedJobs: z
    .array(z.object({ jobId: Identifier, attempt: z.number().int().min(0), since: Timestamp }).strict())
    .max(1024)
    .optional(),
});
export type UnreportedJob = NonNullable<PilotRecord['unreportedJobs']>[number];
export type PilotRecord = z.infer<typeof PilotRecord>;
