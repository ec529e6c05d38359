/** The state machines of tasks, jobs, pilots and datasets, and the pure decisions over them. */
export {
  MACHINE_STATES,
  OPERATOR_TRANSITIONS,
  STARTED_TASK_STATES,
  TERMINAL_DATASET_STATES,
  TERMINAL_JOB_STATES,
  TERMINAL_PILOT_STATES,
  TERMINAL_TASK_STATES,
  TRANSITIONS,
} from './constants.js';
export { allowedFrom, assertTransition, canTransition, isTerminal } from './machine.js';
export { taskOutcome } from './outcome.js';
export { isPhaseAdvance } from './phases.js';
export type { Machine, MachineStates, TaskOutcome, TaskProgress, TransitionTable } from './types.js';
