/**
 * Throughput: N trivial jobs on the given slots, timed from the first job READY to the last
 * DONE, with every AWS call of the WMS made meanwhile counted by an SDK middleware: the
 * control plane's functions (in their workers, see `function-pool.ts`) and the pilots (which
 * log their counts at exit). The embedded runtime's pollers are counted apart (on AWS they
 * are Lambda's), and requests to the API by the local API Gateway: they are not SDK calls.
 */
import type { CallCount } from '../../../shared/aws/index.js';
import { subtractCalls, sumCalls } from './calls.js';
import { type CpuUse, cpuUse, readCpu } from './cpu.js';
import { type PilotSettings, startPilots } from './pilots.js';
import type { BenchSystem } from './system.js';
import {
  closedInputDataset,
  forEachJobPage,
  registerTask,
  TRIVIAL_PAYLOAD,
  waitForOutputsClosed,
  waitForTaskDone,
} from './workload.js';

export interface ThroughputOptions {
  jobs: number;
  pilots: number;
  slotsPerPilot: number;
  pilot: PilotSettings;
  log(line: string): void;
}

export interface ThroughputResult {
  jobs: number;
  jobsPerSecond: number;
  makespanSeconds: number;
  /** Every AWS SDK call of the WMS for these jobs: control-plane functions and pilots. */
  calls: CallCount[];
  controlPlaneCalls: CallCount[];
  pilotCalls: CallCount[];
  /** Requests to the API (API Gateway): pilots' registrations, claims and heartbeats, the task's registration. */
  apiRequests: number;
  /** The embedded runtime's pollers meanwhile (Lambda's calls on AWS, not the WMS's). */
  runtimeCalls: CallCount[];
  /** READY → claimed of every job under full load, in ms. */
  dispatchLatenciesMs: number[];
  /** CPU time from the task's registration to its end, where /proc can be read. */
  cpu: CpuUse | null;
}

interface Counters {
  functions: CallCount[];
  runtime: CallCount[];
  apiRequests: number;
}

function readCounters(system: BenchSystem): Counters {
  const stats = system.plane.runtime.stats();
  return {
    functions: sumCalls(...Object.values(stats.functions).map((fn) => fn.awsCalls)),
    runtime: stats.awsCalls,
    apiRequests: stats.api?.requests ?? 0,
  };
}

export async function runThroughput(
  system: BenchSystem,
  options: ThroughputOptions,
): Promise<ThroughputResult> {
  options.log(`throughput: storing and announcing ${options.jobs} input files…`);
  const input = await closedInputDataset(system, options.jobs);

  const before = readCounters(system);
  const pilots = await startPilots(system, options.pilots, options.slotsPerPilot, options.pilot);
  options.log(
    `throughput: ${options.pilots} pilots × ${options.slotsPerPilot} slots registered; task submitted`,
  );
  const pilotPids = pilots.pilots.map((pilot) => pilot.child.pid!);
  const cpuBefore = readCpu(system.emulator.pid, pilotPids);
  const taskId = await registerTask(system.api, {
    name: `throughput-${options.jobs}`,
    ...TRIVIAL_PAYLOAD,
    inputDatasetUid: input.uid,
  });
  const started = Date.now();
  let lastReport = 0;
  const task = await waitForTaskDone(system, taskId, 600_000 + options.jobs * 1000, (current) => {
    if (Date.now() - lastReport < 5000) return;
    lastReport = Date.now();
    const elapsed = (Date.now() - started) / 1000;
    options.log(`  ${current.counts.DONE}/${options.jobs} done after ${elapsed.toFixed(0)} s`);
  });
  const cpuAfter = readCpu(system.emulator.pid, pilotPids);
  const pilotCalls = await pilots.stop();
  // Closing them reads every output and log file: time that grows with the task.
  await waitForOutputsClosed(system, task, 60_000 + options.jobs * 10);
  const after = readCounters(system);

  const controlPlaneCalls = subtractCalls(after.functions, before.functions);

  // Read a page at a time: at the scaling size the jobs would not all be held, nor spread.
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  const dispatchLatenciesMs: number[] = [];
  await forEachJobPage(system, taskId, (jobs) => {
    for (const job of jobs) {
      first = Math.min(first, Date.parse(job.createdAt));
      last = Math.max(last, Date.parse(job.endedAt ?? job.updatedAt));
      if (job.attempt === 0 && job.startedAt !== undefined)
        dispatchLatenciesMs.push(Date.parse(job.startedAt) - Date.parse(job.createdAt));
    }
  });
  const makespanSeconds = (last - first) / 1000;
  return {
    jobs: options.jobs,
    jobsPerSecond: options.jobs / makespanSeconds,
    makespanSeconds,
    calls: sumCalls(controlPlaneCalls, pilotCalls),
    controlPlaneCalls,
    pilotCalls,
    apiRequests: after.apiRequests - before.apiRequests,
    runtimeCalls: subtractCalls(after.runtime, before.runtime),
    dispatchLatenciesMs,
    cpu: cpuUse(cpuBefore, cpuAfter, options.jobs),
  };
}
