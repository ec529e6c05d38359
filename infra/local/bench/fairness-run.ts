/**
 * Fairness: three tasks of ranks 1, 2 and 4 over the same input, all READY before any pilot
 * starts; their dispatches (READY → QUEUED times) are compared with their rank shares over the
 * window in which all three still had jobs to dispatch.
 */
import { type FairnessMeasure, fairness } from './statistics.js';
import type { BenchSystem } from './system.js';
import {
  allJobs,
  closedInputDataset,
  registerTask,
  TRIVIAL_PAYLOAD,
  waitForTaskDone,
  waitUntil,
} from './workload.js';

export const FAIRNESS_RANKS = [1, 2, 4] as const;

/** Runs the three tasks on whatever pilots `startPilots` starts, once their jobs are all READY. */
export async function measureFairness(
  system: BenchSystem,
  jobsPerTask: number,
  startPilots: () => Promise<unknown>,
  log: (line: string) => void,
): Promise<FairnessMeasure> {
  const input = await closedInputDataset(system, jobsPerTask);
  const ranks: Record<string, number> = {};
  for (const rank of FAIRNESS_RANKS) {
    const taskId = await registerTask(system.api, {
      name: `fairness-rank-${rank}`,
      ...TRIVIAL_PAYLOAD,
      inputDatasetUid: input.uid,
      rank,
    });
    ranks[taskId] = rank;
  }
  await waitUntil(
    async () => {
      const tasks = await Promise.all(Object.keys(ranks).map((taskId) => system.repos.tasks.get(taskId)));
      return tasks.every((task) => task.generationComplete && task.counts.READY === jobsPerTask);
    },
    { timeoutMs: 120_000, what: 'every fairness job READY' },
  );
  log(`fairness: ${jobsPerTask} jobs each for ranks ${FAIRNESS_RANKS.join(', ')}; pilots start`);
  await startPilots();
  for (const taskId of Object.keys(ranks))
    await waitForTaskDone(system, taskId, 600_000 + jobsPerTask * 3000);
  const dispatches = [];
  for (const taskId of Object.keys(ranks)) {
    for (const job of await allJobs(system, taskId)) {
      if (job.queuedAt !== undefined) dispatches.push({ taskId, at: Date.parse(job.queuedAt) });
    }
  }
  return fairness(ranks, dispatches);
}
