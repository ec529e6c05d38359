import { JOB_PHASES, type JobPhase } from '../model/index.js';

/**
 * Whether a reported sub-phase of a RUNNING job moves it forward
 * (CLAIMED → STAGE_IN → EXECUTING → STAGE_OUT). Progress messages may arrive out of order
 * or twice; one that repeats or goes backwards is ignored.
 */
export function isPhaseAdvance(current: JobPhase | undefined, reported: JobPhase): boolean {
  if (current === undefined) return true;
  return JOB_PHASES.indexOf(reported) > JOB_PHASES.indexOf(current);
}
