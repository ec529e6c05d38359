/**
 * Dispatch latency at low load: a streaming task gets its jobs one at a time (one file
 * announced, its job created READY), each waited for until a pilot claimed it, with the
 * pilots otherwise idle. Latency is the job's READY time (its creation) to its claim.
 */
import { sleep } from '../../../shared/async/index.js';
import type { BenchSystem } from './system.js';
import {
  allJobs,
  announceFile,
  closeDataset,
  registerTask,
  TRIVIAL_PAYLOAD,
  waitForTaskDone,
  waitUntil,
} from './workload.js';

/** The random part of the pause before a sample. */
const ARRIVAL_SPREAD_MS = 1_000;

export interface LatencyOptions {
  samples: number;
  /**
   * Pause before each sample, so the pilots are idle again and polling when the job appears;
   * up to a second more at random, so that samples do not lock onto the phase of the runtime's
   * periodic stream reads (once a second on an idle shard) and each sees a chance arrival time.
   */
  idleMs: number;
  log(line: string): void;
}

export async function measureDispatchLatency(
  system: BenchSystem,
  options: LatencyOptions,
): Promise<number[]> {
  const { samples, log } = options;
  const suffix = Date.now().toString(36);
  const dataset = { uid: `bench-latency-${suffix}`, name: `bench.latency.${suffix}` };
  const taskId = await registerTask(system.api, {
    name: 'dispatch-latency',
    ...TRIVIAL_PAYLOAD,
    inputDatasetUid: dataset.uid,
    streaming: true,
  });
  log(`dispatch latency: ${samples} jobs, one at a time`);
  const fileNames: string[] = [];
  const latencies: number[] = [];
  for (let sample = 0; sample < samples; sample++) {
    const fileName = `one-${String(sample).padStart(4, '0')}.dat`;
    fileNames.push(fileName);
    await sleep(options.idleMs + Math.random() * ARRIVAL_SPREAD_MS);
    await announceFile(system, dataset, fileName);
    let latency: number | undefined;
    await waitUntil(
      async () => {
        const job = (await allJobs(system, taskId)).find(
          (candidate) => candidate.inputs[0]?.name === fileName,
        );
        if (job?.startedAt === undefined) return false;
        latency = Date.parse(job.startedAt) - Date.parse(job.createdAt);
        return true;
      },
      { timeoutMs: 60_000, what: `the job of ${fileName} claimed`, intervalMs: 100 },
    );
    latencies.push(latency!);
  }
  await closeDataset(system, dataset, fileNames);
  await waitForTaskDone(system, taskId, 120_000);
  return latencies;
}
