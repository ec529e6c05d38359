/** Interleaved weighted round-robin dispatch of READY jobs across tasks, by rank and device. */
export { initialSchedulerState, planDispatch } from './scheduler.js';
export { FreeSlots, RoundCursor, SchedulableTask, SchedulerState } from './schemas.js';
export type { DispatchPick, DispatchPlan } from './types.js';
