/**
 * Messages between the control plane and pilots: the job message on the device queues,
 * the pilot's status/result messages, heartbeats, claims and control commands.
 */
import { z } from 'zod';
import {
  Args,
  BucketName,
  DatasetName,
  DegradedCapabilitySchema,
  DeviceSchema,
  Executable,
  FileRef,
  Identifier,
  JobPhaseSchema,
  LIMITS,
  ObjectKey,
  OutputFile,
  PhaseTimes,
  PilotStateSchema,
  Rank,
  Timestamp,
} from '../shared/model/index.js';

/** Where a job writes its outputs or its log: a dataset and its key prefix in a bucket. */
export const DatasetTarget = z
  .object({ dataset: DatasetName, datasetUid: Identifier, bucket: BucketName, prefix: ObjectKey })
  .strict();

/** The job message a pilot receives from `jobs-cpu` / `jobs-gpu`. */
export const JobMessage = z
  .object({
    type: z.literal('job'),
    jobId: Identifier,
    taskId: Identifier,
    attempt: z.number().int().min(0),
    device: DeviceSchema,
    rank: Rank,
    executable: Executable,
    args: Args,
    inputs: z.array(FileRef).min(1).max(LIMITS.filesPerJob),
    output: DatasetTarget,
    log: DatasetTarget,
    wallTimeSeconds: z.number().int().min(1),
    coresPerJob: z.number().int().min(1),
    /** The task's memory limit in bytes; the pilot's default (and at most its maximum) applies. */
    memoryBytes: z.number().int().min(1).optional(),
    dispatchedAt: Timestamp,
  })
  .strict();
export type JobMessage = z.infer<typeof JobMessage>;

/**
 * A claim: the pilot asks to move a QUEUED job to RUNNING under its id. `taskId` (the job
 * message's) spares the control plane a read of the job: the claim is then one transaction.
 * `requestId`, chosen by the pilot for one claim and sent again with each retry of it, makes a
 * retry whose first try was granted (its answer lost on the way) get the same claim token.
 */
export const ClaimRequest = z
  .object({
    pilotId: Identifier,
    attempt: z.number().int().min(0),
    taskId: Identifier.optional(),
    requestId: z.string().min(16).max(128).optional(),
  })
  .strict();
export type ClaimRequest = z.infer<typeof ClaimRequest>;

export const ClaimResponse = z
  .object({ jobId: Identifier, attempt: z.number().int().min(0), claimToken: z.string().min(16).max(128) })
  .strict();
export type ClaimResponse = z.infer<typeof ClaimResponse>;

const JobStatusBase = z.object({
  jobId: Identifier,
  taskId: Identifier,
  attempt: z.number().int().min(0),
  pilotId: Identifier,
  claimToken: z.string().min(16).max(128),
  at: Timestamp,
});

/** Phase change inside RUNNING; never a final state. */
export const JobProgressMessage = JobStatusBase.extend({
  type: z.literal('job.progress'),
  phase: JobPhaseSchema,
}).strict();
export type JobProgressMessage = z.infer<typeof JobProgressMessage>;

/** The final report of one attempt of a job. */
export const JobResultMessage = JobStatusBase.extend({
  type: z.literal('job.result'),
  outcome: z.enum(['DONE', 'FAILED']),
  /** 0 when DONE; otherwise a code from the error registry. */
  errorCode: z.number().int().min(0),
  errorMessage: z.string().max(4096).optional(),
  exitCode: z.number().int().optional(),
  signal: z.string().max(16).optional(),
  outputs: z.array(OutputFile).max(LIMITS.outputsPerJob),
  phaseTimes: PhaseTimes,
  wallMs: z.number().int().min(0),
}).strict();
export type JobResultMessage = z.infer<typeof JobResultMessage>;

/** What a pilot sends on the status queue. */
export const PilotStatusMessage = z.discriminatedUnion('type', [JobProgressMessage, JobResultMessage]);
export type PilotStatusMessage = z.infer<typeof PilotStatusMessage>;

/** Pilot registration at start: returns the pilot's control queue. */
export const PilotRegistration = z
  .object({
    pilotId: Identifier,
    host: z.string().min(1).max(255),
    device: DeviceSchema,
    slots: z.number().int().min(1).max(1024),
    version: z.string().min(1).max(64),
    /** What it cannot do to isolate payloads here: operators see a degraded pilot. */
    degraded: z.array(DegradedCapabilitySchema).max(8).optional(),
  })
  .strict();
export type PilotRegistration = z.infer<typeof PilotRegistration>;

export const PilotRegistrationResponse = z
  .object({
    pilotId: Identifier,
    controlQueueUrl: z.string().url(),
    heartbeatIntervalSeconds: z.number().int().min(1),
  })
  .strict();
export type PilotRegistrationResponse = z.infer<typeof PilotRegistrationResponse>;

/** Heartbeat: liveness and what runs, never a final job state. */
export const PilotHeartbeat = z
  .object({
    pilotId: Identifier,
    state: PilotStateSchema.exclude(['LOST']),
    busySlots: z.number().int().min(0).max(1024),
    jobs: z
      .array(
        z.object({ jobId: Identifier, attempt: z.number().int().min(0), phase: JobPhaseSchema }).strict(),
      )
      .max(1024),
    at: Timestamp,
  })
  .strict();
export type PilotHeartbeat = z.infer<typeof PilotHeartbeat>;

/** The reply to a heartbeat: the pilot's state as the control plane sees it (LOST: its jobs were given away). */
export const PilotHeartbeatResponse = z.object({ pilotId: Identifier, state: PilotStateSchema }).strict();
export type PilotHeartbeatResponse = z.infer<typeof PilotHeartbeatResponse>;

/** Commands on a pilot's control queue. */
export const KillJobCommand = z
  .object({
    type: z.literal('job.kill'),
    jobId: Identifier,
    attempt: z.number().int().min(0),
    reason: z.enum(['cancelled', 'lost', 'operator']),
    issuedAt: Timestamp,
  })
  .strict();
export const PilotControlCommand = z.discriminatedUnion('type', [
  KillJobCommand,
  z.object({ type: z.literal('pilot.drain'), issuedAt: Timestamp }).strict(),
  // Stop now, as on SIGTERM: running payloads are stopped and their jobs returned.
  z.object({ type: z.literal('pilot.kill'), issuedAt: Timestamp }).strict(),
]);
export type PilotControlCommand = z.infer<typeof PilotControlCommand>;
