import type { DatasetState, JobCounts, JobState, PilotState, TaskState } from '../model/index.js';

/** The state of each machine. */
export interface MachineStates {
  task: TaskState;
  job: JobState;
  pilot: PilotState;
  dataset: DatasetState;
}

export type Machine = keyof MachineStates;

/** For each state of a machine, the states it may move to. */
export type TransitionTable<M extends Machine> = {
  readonly [S in MachineStates[M]]: readonly MachineStates[M][];
};

/** What `taskOutcome` reads of a task. */
export interface TaskProgress {
  counts: JobCounts;
  jobsTotal: number;
  generationComplete: boolean;
  failureTolerance: number;
  state: TaskState;
}

export type TaskOutcome = 'DONE' | 'FAILED';
