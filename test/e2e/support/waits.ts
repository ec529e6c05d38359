/** Waiting for the system to get somewhere, with a deadline that names what did not happen. */
import type { TaskView } from '../../../events/index.js';
import { isTerminal } from '../../../shared/states/index.js';
import { eventually } from '../../support/index.js';
import type { WmsApi } from './wms-api.js';

/** How often the scenarios look at the API while they wait. */
export const POLL_MS = 250;

/** The task once it is DONE, FAILED or CANCELLED. */
export function taskEnd(wms: WmsApi, taskId: string, timeoutMs: number): Promise<TaskView> {
  return eventually(
    async () => {
      const task = await wms.task(taskId);
      if (!isTerminal('task', task.state))
        throw new Error(
          `task ${taskId} is ${task.state}: ${JSON.stringify(task.counts)} of ${task.jobsTotal}`,
        );
      return task;
    },
    { timeoutMs, intervalMs: POLL_MS },
  );
}
