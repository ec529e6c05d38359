import { TERMINAL_JOB_STATES, TERMINAL_TASK_STATES } from './constants.js';
import type { TaskOutcome, TaskProgress } from './types.js';

/**
 * The final state a task has reached, or null while work remains (jobs still to be
 * generated or not yet terminal) or when the task is already final. A task whose failed
 * jobs exceed its failure tolerance (a fraction of all jobs) FAILS, otherwise it is DONE;
 * a task with no jobs at all is DONE once generation is complete. The outcome is the same for
 * a REGISTERED task; it reaches it through RUNNING, the only way the task machine allows.
 */
export function taskOutcome(task: TaskProgress): TaskOutcome | null {
  if (TERMINAL_TASK_STATES.includes(task.state) || !task.generationComplete) return null;
  const finished = TERMINAL_JOB_STATES.reduce((sum, state) => sum + task.counts[state], 0);
  if (finished < task.jobsTotal) return null;
  if (task.jobsTotal === 0) return 'DONE';
  return task.counts.FAILED / task.jobsTotal > task.failureTolerance ? 'FAILED' : 'DONE';
}
