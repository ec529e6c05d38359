/**
 * Lost-pilot recovery: a job runs on a pilot that is then SIGKILLed (its payload's process
 * group too, as when a node dies); timed from the kill to the job DONE on another pilot,
 * which is idle and waiting all along. Depends on the heartbeat interval, the silence after
 * which a pilot is LOST and the watchdog's period, which the result states.
 */

import { payloadPids } from './pilot-logs.js';
import type { PilotSettings } from './pilots.js';
import { startPilots } from './pilots.js';
import type { BenchSystem } from './system.js';
import {
  allJobs,
  closedInputDataset,
  HANG_ONCE_PAYLOAD,
  registerTask,
  waitForTaskDone,
  waitUntil,
} from './workload.js';

export async function measureLostPilotRecovery(
  system: BenchSystem,
  pilot: PilotSettings,
  log: (line: string) => void,
): Promise<number> {
  const input = await closedInputDataset(system, 1);
  const victim = await startPilots(system, 1, 1, pilot);
  const taskId = await registerTask(system.api, {
    name: 'lost-pilot',
    ...HANG_ONCE_PAYLOAD,
    inputDatasetUid: input.uid,
  });
  let payloadPid: number | undefined;
  await waitUntil(
    async () => {
      const [job] = await allJobs(system, taskId);
      if (job === undefined) return false;
      payloadPid = payloadPids(victim.logFile(victim.pilots[0]!)).get(`${job.jobId}.${job.attempt}`);
      return payloadPid !== undefined;
    },
    { timeoutMs: 120_000, what: 'the job running on the first pilot' },
  );
  const rescuer = await startPilots(system, 1, 1, pilot);
  log('lost pilot: the pilot running the job is killed (SIGKILL), another one waits');
  const killed = Date.now();
  victim.pilots[0]!.kill('SIGKILL');
  process.kill(-payloadPid!, 'SIGKILL');
  await waitForTaskDone(system, taskId, 600_000);
  const recovered = Date.now();
  const [job] = await allJobs(system, taskId);
  if (job?.pilotId !== rescuer.ids[0])
    throw new Error(`the job ended on ${job?.pilotId}, not on the waiting pilot`);
  await rescuer.stop();
  await victim.pilots[0]!.exited;
  return (recovered - killed) / 1000;
}
