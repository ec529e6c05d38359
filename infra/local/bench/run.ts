/**
 * One bench run on the embedded default: the emulator's capacity, throughput at N jobs (and at
 * the scaling size), fairness, dispatch latency, cancel-to-kill and lost-pilot recovery, each
 * on the same control plane with the settings the result states.
 */
import { mkdtempSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { perJob } from './calls.js';
import { measureCancelToKill } from './cancel.js';
import { measureCapacity } from './capacity.js';
import { measureFairness } from './fairness-run.js';
import { failedChecks, type LargeDatasetResult, runLargeDataset } from './large-dataset.js';
import { measureDispatchLatency } from './latency.js';
import { type PilotGroup, type PilotSettings, startPilots } from './pilots.js';
import { measureLostPilotRecovery } from './recovery.js';
import { BenchResult, targetsMet } from './result.js';
import { percentile } from './statistics.js';
import { type BenchSystem, startBenchEmulator, startBenchSystem } from './system.js';
import { runThroughput, type ThroughputResult } from './throughput.js';

/** The settings every measure depends on; the result states them. */
export interface BenchProfile {
  /** Function settings of the stack (docs/configuration.md). */
  tunables: Record<string, string>;
  /** Factor on the stack's schedule periods (the watchdog's and the dispatcher's minute). */
  scheduleScale: number;
  pilot: PilotSettings;
  capacitySeconds: number;
  /** Pilots idle this long before each dispatch-latency sample. */
  latencyIdleMs: number;
}

/**
 * Production's settings, except a heartbeat of 10 s and a pilot lost after 30 s of silence
 * (production: 30 s and 90 s), so that lost-pilot recovery is measured in about a minute, and
 * no consistency audit: each run reads every job of three tasks, 30,000 items a minute at
 * 10,000 jobs a task, which the emulator's one core would serve at the measured jobs' expense.
 */
export const FULL_PROFILE: BenchProfile = {
  tunables: {
    HEARTBEAT_INTERVAL_SECONDS: '10',
    PILOT_LOST_AFTER_SECONDS: '30',
    AUDIT_SAMPLE_TASKS: '0',
    POWERTOOLS_LOG_LEVEL: 'WARN',
  },
  scheduleScale: 1,
  pilot: { heartbeatIntervalSeconds: 10, pollWaitSeconds: 20 },
  capacitySeconds: 5,
  latencyIdleMs: 1500,
};

/** `profile` with function settings of its own over the profile's (the bench's `--set`). */
export function withSettings(profile: BenchProfile, settings: Record<string, string>): BenchProfile {
  return { ...profile, tunables: { ...profile.tunables, ...settings } };
}

export interface BenchOptions {
  jobs: number;
  slots: number;
  pilots: number;
  /** Null skips the scaling run. */
  scalingJobs: number | null;
  /** Jobs per task of the fairness run. */
  fairnessJobsPerTask: number;
  latencySamples: number;
  cancels: number;
  profile: BenchProfile;
  /** Where logs and pilots' files go; a new temporary directory when absent. */
  workDir?: string;
  log(line: string): void;
}

const SCHEDULE_PERIOD_S = 60;
const CAPACITY_CLIENTS = 16;
/** Capacity windows of `capacitySeconds` each; the best one counts (see capacity.ts). */
const CAPACITY_WINDOWS = 3;
/** Jobs of the warm-up task, run before anything is measured so no function starts cold. */
const WARM_UP_JOBS = 4;

function percentiles(values: readonly number[]) {
  if (values.length === 0) throw new Error('no samples');
  return {
    p50: round(percentile(values, 0.5), 1),
    p95: round(percentile(values, 0.95), 1),
    samples: values.length,
  };
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

export async function runBench(options: BenchOptions): Promise<BenchResult> {
  if (options.slots % options.pilots !== 0)
    throw new Error(`${options.slots} slots do not divide among ${options.pilots} pilots`);
  const slotsPerPilot = options.slots / options.pilots;
  const { profile, log } = options;
  const workDir = options.workDir ?? mkdtempSync(join(tmpdir(), 'spd-wms-bench-'));
  const host = { cpus: cpus().length, load_average_1m: round(loadavg()[0] ?? 0, 2), node: process.version };
  log(`SPD WMS bench — work directory ${workDir}`);

  const emulator = await startBenchEmulator();
  let system: BenchSystem | undefined;
  let servicePilots: PilotGroup | undefined;
  try {
    const capacityMs = profile.capacitySeconds * 1000;
    const capacity = await measureCapacity({
      clients: CAPACITY_CLIENTS,
      durationMs: capacityMs,
      windows: CAPACITY_WINDOWS,
      emulatorPid: emulator.pid,
    });
    const rawCapacity = capacity.callsPerSecond;
    log(`emulator capacity: ${rawCapacity.toFixed(0)} calls/s`);
    log('starting the embedded control plane…');
    system = await startBenchSystem(emulator, {
      workDir,
      tunables: profile.tunables,
      scheduleScale: profile.scheduleScale,
    });
    const bench = system;
    const throughputOf = (jobs: number, pilots: number, slots: number): Promise<ThroughputResult> =>
      runThroughput(bench, { jobs, pilots, slotsPerPilot: slots, pilot: profile.pilot, log });

    log('warming up the functions…');
    await throughputOf(WARM_UP_JOBS, 1, 2);
    const main = await throughputOf(options.jobs, options.pilots, slotsPerPilot);
    log(`throughput: ${main.jobsPerSecond.toFixed(2)} jobs/s over ${main.makespanSeconds.toFixed(1)} s`);
    const scaling =
      options.scalingJobs === null
        ? null
        : await throughputOf(options.scalingJobs, options.pilots, slotsPerPilot);
    if (scaling)
      log(`scaling: ${scaling.jobsPerSecond.toFixed(2)} jobs/s over ${scaling.makespanSeconds.toFixed(1)} s`);

    const fairness = await measureFairness(
      bench,
      options.fairnessJobsPerTask,
      async () => {
        servicePilots = await startPilots(bench, options.pilots, slotsPerPilot, profile.pilot);
      },
      log,
    );
    const latencies = await measureDispatchLatency(bench, {
      samples: options.latencySamples,
      idleMs: profile.latencyIdleMs,
      log,
    });
    const kills = await measureCancelToKill(bench, servicePilots!, {
      cancels: options.cancels,
      concurrent: options.slots,
      log,
    });
    await servicePilots!.stop();
    servicePilots = undefined;
    const recoverySeconds = await measureLostPilotRecovery(bench, profile.pilot, log);

    const calls = perJob(main.calls, main.jobs);
    const limit = rawCapacity / calls.total!;
    const pollerCalls = perJob(main.runtimeCalls, main.jobs);
    // The emulator is one Python process: its interpreter lock keeps it to about one core.
    const emulatorLimit = main.cpu === null ? null : 1000 / main.cpu.msPerJob.emulator;
    const measured = {
      bench: 'spd-wms' as const,
      at: new Date().toISOString(),
      host,
      options: {
        jobs: options.jobs,
        slots: options.slots,
        pilots: options.pilots,
        slots_per_pilot: slotsPerPilot,
        scaling_jobs: options.scalingJobs,
      },
      tunables: {
        control_plane: profile.tunables,
        schedule_scale: profile.scheduleScale,
        watchdog_period_s: SCHEDULE_PERIOD_S * profile.scheduleScale,
        dispatch_schedule_period_s: SCHEDULE_PERIOD_S * profile.scheduleScale,
        pilot_heartbeat_interval_s: profile.pilot.heartbeatIntervalSeconds,
        pilot_poll_wait_s: profile.pilot.pollWaitSeconds,
      },
      jobs_per_s: round(main.jobsPerSecond, 2),
      makespan_s: round(main.makespanSeconds, 2),
      calls_per_job: calls,
      calls_per_job_control_plane: perJob(main.controlPlaneCalls, main.jobs),
      calls_per_job_pilots: perJob(main.pilotCalls, main.jobs),
      api_requests_per_job: round(main.apiRequests / main.jobs, 2),
      runtime_poller_calls_per_job: pollerCalls,
      cpu:
        main.cpu === null
          ? null
          : {
              ms_per_job: main.cpu.msPerJob,
              host_busy: main.cpu.hostBusy,
              host_steal: main.cpu.hostSteal,
              limit_jobs_per_s: round((host.cpus * 1000) / main.cpu.msPerJob.total, 2),
              emulator_limit_jobs_per_s: round(emulatorLimit!, 2),
              efficiency_ceiling: round(emulatorLimit! / limit, 3),
            },
      emulator_calls_per_s: round(rawCapacity, 1),
      emulator_calls_per_s_windows: capacity.windows.map((rate) => round(rate, 1)),
      emulator_cpu_ms_per_call: {
        capacity: capacity.emulatorCpuMsPerCall === null ? null : round(capacity.emulatorCpuMsPerCall, 2),
        // What the emulator answered meanwhile: the WMS's calls and the runtime's pollers'.
        run:
          main.cpu === null
            ? null
            : round(main.cpu.msPerJob.emulator / (calls.total! + pollerCalls.total!), 2),
      },
      limit_jobs_per_s: round(limit, 2),
      efficiency: round(main.jobsPerSecond / limit, 3),
      dispatch_latency_ms: percentiles(latencies),
      dispatch_latency_under_load_ms: percentiles(main.dispatchLatenciesMs),
      cancel_kill_ms: percentiles(kills),
      lost_pilot_recovery_s: round(recoverySeconds, 2),
      fairness_error: round(fairness.error, 4),
      fairness: {
        window_dispatches: fairness.windowDispatches,
        tasks: Object.values(fairness.shares).map((share) => ({
          rank: share.rank,
          rank_share: round(share.rankShare, 4),
          dispatch_share: round(share.dispatchShare, 4),
          dispatched: share.dispatched,
        })),
      },
      scaling:
        scaling === null
          ? null
          : {
              jobs: scaling.jobs,
              jobs_per_s: round(scaling.jobsPerSecond, 2),
              makespan_s: round(scaling.makespanSeconds, 2),
            },
      scaling_ratio: scaling === null ? null : round(scaling.jobsPerSecond / main.jobsPerSecond, 3),
    };
    return BenchResult.parse({ ...measured, targets_met: targetsMet(measured) });
  } finally {
    await servicePilots?.stop();
    await system?.stop();
    await emulator.stop();
  }
}

export interface LargeDatasetBenchOptions {
  files: number;
  slots: number;
  pilots: number;
  profile: BenchProfile;
  workDir?: string;
  log(line: string): void;
}

export interface LargeDatasetBenchResult {
  bench: 'spd-wms-dataset';
  at: string;
  host: { cpus: number; load_average_1m: number; node: string };
  options: { files: number; slots: number; pilots: number };
  tunables: Record<string, string>;
  dataset: LargeDatasetResult;
  /** The checks that failed; empty when the scenario did what it should. */
  failed_checks: string[];
}

/**
 * The large-dataset scenario (large-dataset.ts) on an emulator and control plane of its own,
 * so that the emulator's peak memory is the scenario's: the profile's settings, with every
 * output dataset closed by a checklist object whatever its size.
 */
export async function runLargeDatasetBench(
  options: LargeDatasetBenchOptions,
): Promise<LargeDatasetBenchResult> {
  if (options.slots % options.pilots !== 0)
    throw new Error(`${options.slots} slots do not divide among ${options.pilots} pilots`);
  const { profile, log } = options;
  const workDir = options.workDir ?? mkdtempSync(join(tmpdir(), 'spd-wms-bench-dataset-'));
  const host = { cpus: cpus().length, load_average_1m: round(loadavg()[0] ?? 0, 2), node: process.version };
  const tunables = { ...profile.tunables, CHECKLIST_INLINE_MAX_FILES: '0' };
  log(`SPD WMS bench, large dataset of ${options.files} files — work directory ${workDir}`);
  const emulator = await startBenchEmulator();
  let system: BenchSystem | undefined;
  try {
    system = await startBenchSystem(emulator, { workDir, tunables, scheduleScale: profile.scheduleScale });
    log('warming up the functions…');
    await runThroughput(system, {
      jobs: WARM_UP_JOBS,
      pilots: 1,
      slotsPerPilot: 2,
      pilot: profile.pilot,
      log,
    });
    const dataset = await runLargeDataset(system, {
      files: options.files,
      pilots: options.pilots,
      slotsPerPilot: options.slots / options.pilots,
      pilot: profile.pilot,
      log,
    });
    return {
      bench: 'spd-wms-dataset',
      at: new Date().toISOString(),
      host,
      options: { files: options.files, slots: options.slots, pilots: options.pilots },
      tunables,
      dataset,
      failed_checks: failedChecks(dataset),
    };
  } finally {
    await system?.stop();
    await emulator.stop();
  }
}
