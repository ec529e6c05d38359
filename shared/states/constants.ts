import { DATASET_STATES, JOB_STATES, PILOT_STATES, TASK_STATES } from '../model/index.js';
import type { Machine, MachineStates, TransitionTable } from './types.js';

/** Every state of each machine, from shared/model. */
export const MACHINE_STATES: { readonly [M in Machine]: readonly MachineStates[M][] } = {
  task: TASK_STATES,
  job: JOB_STATES,
  pilot: PILOT_STATES,
  dataset: DATASET_STATES,
};

/**
 * Every allowed transition of every machine (design §5), and nothing else. A state with no
 * outgoing transition is terminal. Self-transitions are not listed: writing the same state
 * again is not a transition.
 */
export const TRANSITIONS: { readonly [M in Machine]: TransitionTable<M> } = {
  task: {
    // FAILED from REGISTERED: the input dataset was deleted before any job ran.
    REGISTERED: ['RUNNING', 'CANCELLED', 'FAILED'],
    // HELD: an operator holds the task (wms hold).
    RUNNING: ['DONE', 'FAILED', 'CANCELLED', 'HELD'],
    // RUNNING: released. Its READY jobs are not dispatched while HELD, its running jobs finish,
    // and it does not end while HELD: completion waits for the release.
    HELD: ['RUNNING', 'CANCELLED'],
    DONE: [],
    FAILED: [],
    CANCELLED: [],
  },
  job: {
    READY: ['QUEUED', 'CANCELLED'],
    // RUNNING: claimed by a pilot; READY: stuck in the queue and re-queued; LOST: the message was lost.
    QUEUED: ['RUNNING', 'READY', 'LOST', 'CANCELLED'],
    // READY: a retryable failure, with attempt + 1.
    RUNNING: ['DONE', 'FAILED', 'CANCELLED', 'LOST', 'READY'],
    // READY: retried; FAILED: retries exhausted.
    LOST: ['READY', 'FAILED', 'CANCELLED'],
    DONE: [],
    // READY: an operator retries the job (wms retry) with attempt + 1, while its task is RUNNING or HELD.
    FAILED: ['READY'],
    CANCELLED: [],
  },
  pilot: {
    ACTIVE: ['IDLE', 'EXITED', 'LOST'],
    IDLE: ['ACTIVE', 'EXITED', 'LOST'],
    // EXITED: a pilot declared lost that still reports its exit.
    LOST: ['EXITED'],
    EXITED: [],
  },
  dataset: {
    OPEN: ['CLOSED'],
    CLOSED: ['TO_UPLOAD', 'TO_DELETE'],
    TO_UPLOAD: ['TO_DELETE'],
    TO_DELETE: [],
  },
};

/**
 * Transitions of TRANSITIONS only an operator's command makes. A state left only by them is
 * still final: nothing in the system moves it on by itself, so a task counts it as finished.
 */
export const OPERATOR_TRANSITIONS: { readonly [M in Machine]: Partial<TransitionTable<M>> } = {
  task: { RUNNING: ['HELD'], HELD: ['RUNNING'] },
  job: { FAILED: ['READY'] },
  pilot: {},
  dataset: {},
};

/** The states `machine` moves to from `state` by itself, without an operator's command. */
export function automaticFrom<M extends Machine>(
  machine: M,
  state: MachineStates[M],
): readonly MachineStates[M][] {
  const table: TransitionTable<M> = TRANSITIONS[machine];
  const operator: Partial<TransitionTable<M>> = OPERATOR_TRANSITIONS[machine];
  const manual: readonly MachineStates[M][] = operator[state] ?? [];
  return table[state].filter((to) => !manual.includes(to));
}

function terminalStates<M extends Machine>(machine: M): readonly MachineStates[M][] {
  return Object.freeze(MACHINE_STATES[machine].filter((state) => automaticFrom(machine, state).length === 0));
}

/** Final states of each machine: nothing moves them on by itself (an operator may retry a FAILED job). */
export const TERMINAL_TASK_STATES = terminalStates('task');
/** Jobs that have ended (DONE, FAILED, CANCELLED): their task counts them as finished. */
export const TERMINAL_JOB_STATES = terminalStates('job');
export const TERMINAL_PILOT_STATES = terminalStates('pilot');
export const TERMINAL_DATASET_STATES = terminalStates('dataset');
