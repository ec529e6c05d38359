/**
 * Pilot commands behind the pilot routes of the REST API: registration (with the pilot's own
 * control queue, the push path of kill commands), heartbeats and job claims.
 */
import { createHash } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueUrlCommand,
  QueueDoesNotExist,
  QueueNameExists,
  SetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { z } from 'zod';
import {
  ClaimRequest,
  type ClaimResponse,
  PilotHeartbeat,
  type PilotHeartbeatResponse,
  PilotRegistration,
  type PilotRegistrationResponse,
  parseOrThrow,
} from '../../events/index.js';
import { CONTROL_QUEUE_HASH_LENGTH, QUEUE_NAME_MAX_LENGTH } from '../config/index.js';
import {
  AlreadyClaimedError,
  NotClaimableError,
  PilotIdentityMismatchError,
  PilotNotLiveError,
  StaleAttemptError,
  StateConflictError,
} from '../errors/index.js';
import {
  type CallerIdentity,
  controlQueuePolicy,
  mayActForPilot,
  mayRegisterPilot,
} from '../identity/index.js';
import type { Repositories } from '../repositories/index.js';
import { isOneOf, LIVE_PILOT_STATES } from '../states/index.js';

/** Deliveries of a kill command before it goes to the pilot control dead-letter queue. */
const CONTROL_MAX_RECEIVE_COUNT = 5;
/** A command older than this is moot: the pilot acts within seconds or is gone. */
const CONTROL_RETENTION_SECONDS = 600;
const PILOT_RACE_RETRIES = 3;

export interface PilotServiceDeps {
  repos: Pick<Repositories, 'pilots' | 'jobs'>;
  sqs: SQSClient;
  controlQueuePrefix: string;
  controlDeadLetterArn: string;
  heartbeatIntervalSeconds: number;
  logger: Logger;
  /** The current time; injectable so tests control timestamps. */
  clock?: () => Date;
}

/**
 * The name of a pilot's control queue: `<prefix><pilotId>` when the id is made of letters,
 * digits and `-` and fits; otherwise `<prefix><readable part>_<hash of the id>`. Only hashed
 * names hold `_` after the prefix, so two pilot ids never share a queue.
 */
export function controlQueueName(prefix: string, pilotId: string): string {
  const plain = `${prefix}${pilotId}`;
  if (/^[A-Za-z0-9-]+$/.test(pilotId) && plain.length <= QUEUE_NAME_MAX_LENGTH) return plain;
  const hash = createHash('sha256').update(pilotId, 'utf8').digest('hex').slice(0, CONTROL_QUEUE_HASH_LENGTH);
  const room = QUEUE_NAME_MAX_LENGTH - prefix.length - hash.length - 1;
  const readable = pilotId.replace(/[^A-Za-z0-9-]/g, '-').slice(0, Math.max(0, room));
  return `${prefix}${readable}_${hash}`;
}

function now(deps: PilotServiceDeps): string {
  return (deps.clock?.() ?? new Date()).toISOString();
}

/** The ARN of a queue of the same account and region as the queue `siblingArn` names. */
function queueArnBeside(siblingArn: string, queueName: string): string {
  return `${siblingArn.slice(0, siblingArn.lastIndexOf(':') + 1)}${queueName}`;
}

async function ensureControlQueue(
  deps: PilotServiceDeps,
  pilotId: string,
  caller: CallerIdentity | undefined,
): Promise<string> {
  const queueName = controlQueueName(deps.controlQueuePrefix, pilotId);
  const attributes = {
    RedrivePolicy: JSON.stringify({
      deadLetterTargetArn: deps.controlDeadLetterArn,
      maxReceiveCount: CONTROL_MAX_RECEIVE_COUNT,
    }),
    MessageRetentionPeriod: String(CONTROL_RETENTION_SECONDS),
    // Only the registering principal reads the pilot's commands (the pilot policy grants every control queue).
    ...(caller !== undefined && {
      Policy: controlQueuePolicy(queueArnBeside(deps.controlDeadLetterArn, queueName), caller),
    }),
  };
  try {
    const created = await deps.sqs.send(
      new CreateQueueCommand({ QueueName: queueName, Attributes: attributes }),
    );
    if (created.QueueUrl === undefined) throw new Error(`CreateQueue ${queueName} returned no queue URL`);
    return created.QueueUrl;
  } catch (error) {
    if (!(error instanceof QueueNameExists)) throw error;
    // The queue exists with other attributes (the configuration changed): bring it in line.
    const found = await deps.sqs.send(new GetQueueUrlCommand({ QueueName: queueName }));
    if (found.QueueUrl === undefined) throw new Error(`GetQueueUrl ${queueName} returned no queue URL`);
    await deps.sqs.send(new SetQueueAttributesCommand({ QueueUrl: found.QueueUrl, Attributes: attributes }));
    return found.QueueUrl;
  }
}

async function deleteControlQueue(deps: PilotServiceDeps, pilotId: string, queueUrl: string): Promise<void> {
  try {
    await deps.sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
    deps.logger.info('pilot control queue deleted', { pilotId });
  } catch (error) {
    if (!(error instanceof QueueDoesNotExist)) throw error;
  }
}

/**
 * Registers a pilot ACTIVE with its control queue (dead-lettered after a few deliveries,
 * short retention, readable only by `caller`). Registering again under the same live id
 * answers the same way; a LOST or EXITED id is refused (PilotNotLiveError): its jobs were
 * given away, it must start anew. With a `caller` (every API request), the pilot belongs to
 * that principal: another one registering the id is refused (PilotIdentityMismatchError)
 * before anything changes. Without one (the control plane's own calls) no principal is kept.
 */
export async function registerPilot(
  deps: PilotServiceDeps,
  registration: z.input<typeof PilotRegistration>,
  caller?: CallerIdentity,
): Promise<PilotRegistrationResponse> {
  const pilot = parseOrThrow(PilotRegistration, registration, 'pilot registration');
  const existing = await deps.repos.pilots.find(pilot.pilotId);
  if (caller !== undefined && existing !== undefined && !mayRegisterPilot(existing, caller)) {
    throw new PilotIdentityMismatchError(pilot.pilotId);
  }
  if (existing !== undefined && !isOneOf(LIVE_PILOT_STATES, existing.state)) {
    throw new PilotNotLiveError(pilot.pilotId, existing.state);
  }
  const controlQueueUrl = await ensureControlQueue(deps, pilot.pilotId, caller);
  try {
    await deps.repos.pilots.register({
      ...pilot,
      controlQueueUrl,
      ...(caller !== undefined && { callerId: caller.id, callerArn: caller.arn }),
    });
  } catch (error) {
    if (error instanceof StateConflictError) throw new PilotNotLiveError(pilot.pilotId, undefined);
    throw error;
  }
  deps.logger.info(existing ? 'pilot registration repeated' : 'pilot registered', {
    pilotId: pilot.pilotId,
    device: pilot.device,
    slots: pilot.slots,
    host: pilot.host,
  });
  return { pilotId: pilot.pilotId, controlQueueUrl, heartbeatIntervalSeconds: deps.heartbeatIntervalSeconds };
}

/**
 * Records a heartbeat, stamped with the control plane's clock (liveness is judged by one
 * clock, whatever the pilot's drift). ACTIVE/IDLE update the pilot; EXITED ends it and
 * deletes its control queue (repeatable). A LOST or EXITED pilot's ACTIVE/IDLE heartbeat is
 * refused with PilotNotLiveError: it must kill its jobs and exit. Unknown: NotFoundError.
 */
export async function recordHeartbeat(
  deps: PilotServiceDeps,
  heartbeat: z.input<typeof PilotHeartbeat>,
  caller?: CallerIdentity,
): Promise<PilotHeartbeatResponse> {
  const beat = parseOrThrow(PilotHeartbeat, heartbeat, 'heartbeat');
  if (beat.state === 'EXITED') return markExited(deps, beat.pilotId, caller);
  try {
    const { pilot } = await deps.repos.pilots.heartbeat({
      pilotId: beat.pilotId,
      busySlots: beat.busySlots,
      state: beat.state,
      at: now(deps),
      jobs: beat.jobs,
      ...(caller !== undefined && { callerId: caller.id }),
    });
    return { pilotId: pilot.pilotId, state: pilot.state };
  } catch (error) {
    if (error instanceof StateConflictError) {
      const current = await deps.repos.pilots.find(beat.pilotId);
      deps.logger.warn('heartbeat refused: the pilot is no longer live', {
        pilotId: beat.pilotId,
        state: current?.state,
      });
      throw new PilotNotLiveError(beat.pilotId, current?.state);
    }
    throw error;
  }
}

async function markExited(
  deps: PilotServiceDeps,
  pilotId: string,
  caller: CallerIdentity | undefined,
): Promise<PilotHeartbeatResponse> {
  for (let attempt = 1; ; attempt += 1) {
    const pilot = await deps.repos.pilots.get(pilotId);
    // The principal is written once, at the first registration, so checking the read is enough.
    if (caller !== undefined && !mayActForPilot(pilot.callerId, caller)) {
      throw new PilotIdentityMismatchError(pilotId);
    }
    try {
      if (pilot.state !== 'EXITED')
        await deps.repos.pilots.transition({ pilotId, from: pilot.state, to: 'EXITED' });
    } catch (error) {
      // It changed state (e.g. IDLE → ACTIVE, or declared LOST) between the read and the write.
      if (error instanceof StateConflictError && attempt < PILOT_RACE_RETRIES) continue;
      throw error;
    }
    if (pilot.controlQueueUrl !== undefined) await deleteControlQueue(deps, pilotId, pilot.controlQueueUrl);
    deps.logger.info('pilot exited', { pilotId, previousState: pilot.state });
    return { pilotId, state: 'EXITED' };
  }
}

/**
 * Claims a QUEUED job for a pilot: QUEUED → RUNNING under the pilot's id and the message's
 * attempt, returning the claim token its reports must carry. Exactly one claim of an attempt
 * wins. A claim that names the job's task costs one transaction; without it the job is read
 * first for its task (the transaction moves the task's counters). A retry of the winning claim
 * (same request id) gets its token again. Refusals: StaleAttemptError
 * (the job moved to another attempt), AlreadyClaimedError (it runs already), NotClaimableError
 * (cancelled, finished, back to READY), PilotNotLiveError (the pilot is LOST, EXITED or
 * unknown), PilotIdentityMismatchError (`caller` did not register the pilot); unknown job:
 * NotFoundError.
 */
export async function claimJob(
  deps: PilotServiceDeps,
  jobId: string,
  request: z.input<typeof ClaimRequest>,
  caller?: CallerIdentity,
): Promise<ClaimResponse> {
  const claim = parseOrThrow(ClaimRequest, request, 'claim');
  const taskId = claim.taskId ?? (await taskOfQueuedJob(deps, jobId, claim.attempt));
  const claimToken = await deps.repos.jobs.claim({
    jobId,
    taskId,
    attempt: claim.attempt,
    pilotId: claim.pilotId,
    ...(claim.requestId !== undefined && { requestId: claim.requestId }),
    ...(caller !== undefined && { callerId: caller.id }),
  });
  deps.logger.info('job claimed', { jobId, taskId, attempt: claim.attempt, pilotId: claim.pilotId });
  return { jobId, attempt: claim.attempt, claimToken };
}

/** The task of a job a claim without its task names, refusing at once what the claim would refuse. */
async function taskOfQueuedJob(deps: PilotServiceDeps, jobId: string, attempt: number): Promise<string> {
  const job = await deps.repos.jobs.get(jobId);
  if (job.attempt !== attempt) throw new StaleAttemptError(jobId, attempt);
  if (job.state === 'RUNNING') throw new AlreadyClaimedError(jobId);
  if (job.state !== 'QUEUED') throw new NotClaimableError(jobId, job.state);
  return job.taskId;
}
