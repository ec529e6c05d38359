import type { Device } from '../model/index.js';
import type { SchedulerState } from './schemas.js';

/** One job to dispatch: from which task, and to which device queue. */
export interface DispatchPick {
  taskId: string;
  /** The task's device. */
  device: Device;
  /** The queue it goes to: a CPU job filling a GPU slot still goes to the CPU queue. */
  queue: Device;
}

export interface DispatchPlan {
  picks: DispatchPick[];
  /** The state to persist for the next call. */
  state: SchedulerState;
}
