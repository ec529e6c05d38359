/** The state machines of tasks, jobs, pilots and datasets, and the pure decisions over them. */
export {
  MACHINE_STATES,
  OPERATOR_TRANSITIONS,
  TERMINAL_DATASET_STATES,
  TERMINAL_JOB_STATES,
  TERMINAL_PILOT_STATES,
  TERMINAL_TASK_STATES,
  TRANSITIONS,
} from './constants.js';
export { allowedFrom, assertTransition, canTransition, isTerminal } from './machine.js';
export { taskOutcome } from './outcome.js';
export { isPhaseAdvance } from './phases.js';
export {
  CANCELLABLE_JOB_STATES,
  CLAIMABLE_JOB_STATES,
  DISPATCHING_TASK_STATES,
  GENERATING_TASK_STATES,
  IN_FLIGHT_JOB_STATES,
  type InFlightJobState,
  isOneOf,
  LIVE_PILOT_STATES,
  OPERATOR_RETRYABLE_JOB_STATES,
  SLOT_FREE_JOB_STATES,
  SLOT_TAKING_JOB_STATES,
  STARTED_TASK_STATES,
  UNFINISHED_JOB_STATES,
  UNFINISHED_TASK_STATES,
  WAITING_JOB_STATES,
} from './sets.js';
export type { Machine, MachineStates, TaskOutcome, TaskProgress, TransitionTable } from './types.js';
