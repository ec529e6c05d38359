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
    RUNNING: ['DONE', 'FAILED', 'CANCELLED'],
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
    FAILED: [],
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

function terminalStates<M extends Machine>(machine: M): readonly MachineStates[M][] {
  const table: TransitionTable<M> = TRANSITIONS[machine];
  return Object.freeze(MACHINE_STATES[machine].filter((state) => table[state].length === 0));
}

export const TERMINAL_TASK_STATES = terminalStates('task');
export const TERMINAL_JOB_STATES = terminalStates('job');
export const TERMINAL_PILOT_STATES = terminalStates('pilot');
export const TERMINAL_DATASET_STATES = terminalStates('dataset');
