import { z } from 'zod';
import { JobMessage, PilotControlCommand, type PilotHeartbeat } from '../../events/index.js';
import { ValidationError } from '../../shared/errors/index.js';
import type { Device } from '../../shared/model/index.js';
import { Identifier } from '../../shared/model/index.js';
import { FALLBACK_POLL_WAIT_SECONDS, HEARTBEAT_MAX_JOBS, SQS_MAX_BATCH } from './constants.js';

/** The ids a result needs, readable even from a job message that is otherwise invalid. */
const JobIds = z.object({ jobId: Identifier, taskId: Identifier, attempt: z.number().int().min(0) });
export type JobIds = z.infer<typeof JobIds>;

export type ParsedJobMessage =
  | { kind: 'valid'; job: JobMessage }
  /** Invalid, but its ids are readable: the job can be claimed and failed with the reason. */
  | { kind: 'invalid'; ids: JobIds; error: ValidationError }
  /** Not even the ids are readable: nothing can be reported on. */
  | { kind: 'unreadable'; error: ValidationError };

function parseJson(
  body: string | undefined,
): { ok: true; value: unknown } | { ok: false; error: ValidationError } {
  try {
    return { ok: true, value: JSON.parse(body ?? '') };
  } catch (error) {
    return {
      ok: false,
      error: new ValidationError(
        'invalid message',
        [{ path: '', message: `not JSON: ${(error as Error).message}` }],
        {
          cause: error,
        },
      ),
    };
  }
}

/** Validates a job message body from a device queue. */
export function parseJobMessage(body: string | undefined): ParsedJobMessage {
  const json = parseJson(body);
  if (!json.ok) return { kind: 'unreadable', error: json.error };
  const parsed = JobMessage.safeParse(json.value);
  if (parsed.success) return { kind: 'valid', job: parsed.data };
  const error = ValidationError.fromZod('job message', parsed.error);
  const ids = JobIds.safeParse(json.value);
  return ids.success ? { kind: 'invalid', ids: ids.data, error } : { kind: 'unreadable', error };
}

/** Validates a command from the pilot's control queue. */
export function parseControlCommand(
  body: string | undefined,
): { ok: true; command: PilotControlCommand } | { ok: false; error: ValidationError } {
  const json = parseJson(body);
  if (!json.ok) return json;
  const parsed = PilotControlCommand.safeParse(json.value);
  return parsed.success
    ? { ok: true, command: parsed.data }
    : { ok: false, error: ValidationError.fromZod('control command', parsed.error) };
}

/** One receive call of a poll round. */
export interface PollStep {
  queue: Device;
  waitSeconds: number;
}

/**
 * The receive calls of one poll round, in order; the round stops at the first that returns
 * messages. A CPU pilot long-polls its queue. A GPU pilot long-polls the GPU queue and, only
 * when that returns nothing, looks briefly at the CPU queue. While the last round found work
 * it polls the GPU queue briefly too, so a GPU pilot working through CPU jobs is not held up
 * by a full long poll of an empty GPU queue between them.
 */
export function pollPlan(device: Device, pollWaitSeconds: number, lastRoundFoundWork: boolean): PollStep[] {
  const shortWait = Math.min(FALLBACK_POLL_WAIT_SECONDS, pollWaitSeconds);
  if (device === 'CPU') return [{ queue: 'CPU', waitSeconds: pollWaitSeconds }];
  return [
    { queue: 'GPU', waitSeconds: lastRoundFoundWork ? shortWait : pollWaitSeconds },
    { queue: 'CPU', waitSeconds: shortWait },
  ];
}

/** What bounds the pilot's next receive. */
export interface ReceiveRoom {
  /** Slots whose payload has ended (or never started). */
  freeSlots: number;
  /** Jobs being claimed, run or staged out. */
  jobsInHand: number;
  maxJobsInHand: number;
  maxJobs: number | undefined;
  /** Jobs taken so far, counting claims under way. */
  jobsTaken: number;
}

/**
 * How many messages the next receive may ask for: one per free slot, as long as the jobs in
 * hand stay within their bound, no more than SQS gives in one call, and no more than the jobs
 * left before `maxJobs`.
 */
export function receiveCapacity(room: ReceiveRoom): number {
  const left =
    room.maxJobs === undefined ? Number.POSITIVE_INFINITY : Math.max(0, room.maxJobs - room.jobsTaken);
  const handsFree = Math.max(0, room.maxJobsInHand - room.jobsInHand);
  return Math.min(room.freeSlots, handsFree, SQS_MAX_BATCH, left);
}

/**
 * The jobs a heartbeat reports: those the pilot runs, then those whose result SQS has not
 * accepted yet (the control plane retries a RUNNING job its pilot stops reporting), each
 * attempt once, at most HEARTBEAT_MAX_JOBS, the running ones first.
 */
export function heartbeatJobs(
  running: PilotHeartbeat['jobs'],
  pendingResults: readonly { jobId: string; attempt: number }[],
): PilotHeartbeat['jobs'] {
  const jobs = [...running];
  const listed = new Set(jobs.map((job) => `${job.jobId}:${job.attempt}`));
  for (const result of pendingResults) {
    const key = `${result.jobId}:${result.attempt}`;
    if (listed.has(key)) continue;
    listed.add(key);
    jobs.push({ jobId: result.jobId, attempt: result.attempt, phase: 'STAGE_OUT' });
  }
  return jobs.slice(0, HEARTBEAT_MAX_JOBS);
}
