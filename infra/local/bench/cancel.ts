/**
 * Cancel to kill: tasks whose one job runs `sleep 60` are cancelled through the API one at a
 * time, each timed from the cancel request to its payload's process being gone (the pid from
 * the pilot's "payload started" log line).
 */
import { sleep } from '../../../shared/async/index.js';
import { isRunning, payloadPids } from './pilot-logs.js';
import type { PilotGroup } from './pilots.js';
import type { BenchSystem } from './system.js';
import {
  allJobs,
  cancelTask,
  closedInputDataset,
  registerTask,
  SLEEP_PAYLOAD,
  waitUntil,
} from './workload.js';

const KILL_POLL_MS = 2;

export interface CancelOptions {
  cancels: number;
  /** Payloads running at once: the pilots' slots. */
  concurrent: number;
  log(line: string): void;
}

export async function measureCancelToKill(
  system: BenchSystem,
  pilots: PilotGroup,
  options: CancelOptions,
): Promise<number[]> {
  const input = await closedInputDataset(system, 1);
  const kills: number[] = [];
  while (kills.length < options.cancels) {
    const round = Math.min(options.concurrent, options.cancels - kills.length);
    options.log(`cancel to kill: ${round} payloads running, cancelling their tasks one by one`);
    const taskIds = await Promise.all(
      Array.from({ length: round }, () =>
        registerTask(system.api, { name: 'cancel', ...SLEEP_PAYLOAD, inputDatasetUid: input.uid }),
      ),
    );
    const pidOf = new Map<string, number>();
    await waitUntil(
      async () => {
        const pids = new Map(pilots.pilots.flatMap((pilot) => [...payloadPids(pilots.logFile(pilot))]));
        for (const taskId of taskIds) {
          if (pidOf.has(taskId)) continue;
          const [job] = await allJobs(system, taskId);
          const pid = job && pids.get(`${job.jobId}.${job.attempt}`);
          if (pid !== undefined) pidOf.set(taskId, pid);
        }
        return pidOf.size === taskIds.length;
      },
      { timeoutMs: 120_000, what: 'every payload to run', intervalMs: 200 },
    );
    for (const taskId of taskIds) {
      const pid = pidOf.get(taskId)!;
      const started = performance.now();
      await cancelTask(system.api, taskId);
      while (isRunning(pid)) {
        if (performance.now() - started > 60_000)
          throw new Error(`payload ${pid} of ${taskId} still runs a minute after the cancel`);
        await sleep(KILL_POLL_MS);
      }
      kills.push(performance.now() - started);
    }
  }
  return kills;
}
