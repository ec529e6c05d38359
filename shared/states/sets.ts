/**
 * The named sets of states, each defined once with what it means. Code that asks "is this job
 * claimable / in flight / unfinished …" uses one of these instead of a list of its own; sets
 * the state machine decides are derived from it, and the tests check the others against it.
 */
import { JOB_STATES, type JobState, type PilotState, TASK_STATES, type TaskState } from '../model/index.js';
import { TERMINAL_JOB_STATES, TERMINAL_TASK_STATES } from './constants.js';

/** Whether `state` is one of `states` (a type guard over the set's own states). */
export function isOneOf<S extends string>(states: readonly S[], state: string): state is S {
  return (states as readonly string[]).includes(state);
}

/** Jobs not yet final (READY, QUEUED, RUNNING, LOST): each will still end, so a task waits for them. */
export const UNFINISHED_JOB_STATES: readonly JobState[] = Object.freeze(
  JOB_STATES.filter((state) => !isOneOf(TERMINAL_JOB_STATES, state)),
);

/**
 * Jobs sent out and not back (QUEUED, RUNNING, LOST): in a device queue, with a pilot, or lost
 * on the way. The watchdog watches exactly these; the jobs table's sparse `inFlight` index
 * holds them and nothing else.
 */
export const IN_FLIGHT_JOB_STATES = ['QUEUED', 'RUNNING', 'LOST'] as const satisfies readonly JobState[];
export type InFlightJobState = (typeof IN_FLIGHT_JOB_STATES)[number];

/** Jobs that hold a pilot slot: waiting in a device queue for one, or running in one. */
export const SLOT_TAKING_JOB_STATES = ['QUEUED', 'RUNNING'] as const satisfies readonly JobState[];

/**
 * Jobs that hold no pilot slot: a job entering one of these frees a slot (it left the queue or
 * its pilot) or, READY, can be dispatched.
 */
export const SLOT_FREE_JOB_STATES: readonly JobState[] = Object.freeze(
  JOB_STATES.filter((state) => !isOneOf(SLOT_TAKING_JOB_STATES, state)),
);

/** Jobs that wait to run (READY, QUEUED, LOST): not running and not final; "why is it not running?" answers for them. */
export const WAITING_JOB_STATES = ['READY', 'QUEUED', 'LOST'] as const satisfies readonly JobState[];

/** Jobs a pilot may claim: QUEUED, their message taken from a device queue. */
export const CLAIMABLE_JOB_STATES = ['QUEUED'] as const satisfies readonly JobState[];

/**
 * Jobs a task's cancel moves to CANCELLED, in the order its sweep takes them: RUNNING first
 * (their payloads are killed, which is what a user waits for), QUEUED before READY (a QUEUED
 * job the watchdog re-queues meanwhile is then still found READY).
 */
export const CANCELLABLE_JOB_STATES = [
  'RUNNING',
  'QUEUED',
  'READY',
  'LOST',
] as const satisfies readonly JobState[];

/** Jobs an operator may retry (wms retry), with attempt + 1: FAILED. */
export const OPERATOR_RETRYABLE_JOB_STATES = ['FAILED'] as const satisfies readonly JobState[];

/** Tasks not yet final (REGISTERED, RUNNING, HELD): what an operator still watches. */
export const UNFINISHED_TASK_STATES: readonly TaskState[] = Object.freeze(
  TASK_STATES.filter((state) => !isOneOf(TERMINAL_TASK_STATES, state)),
);

/** Task states whose running jobs still report and may be retried: started and not final. */
export const STARTED_TASK_STATES = ['RUNNING', 'HELD'] as const satisfies readonly TaskState[];

/** Task states in which new jobs may still be created. */
export const GENERATING_TASK_STATES = ['REGISTERED', 'RUNNING'] as const satisfies readonly TaskState[];

/** Task states whose READY jobs are dispatched: RUNNING (not HELD, not being cancelled). */
export const DISPATCHING_TASK_STATES = ['RUNNING'] as const satisfies readonly TaskState[];

/** Pilots that run jobs, may claim more and count as serving their device: ACTIVE or IDLE. */
export const LIVE_PILOT_STATES = ['ACTIVE', 'IDLE'] as const satisfies readonly PilotState[];
