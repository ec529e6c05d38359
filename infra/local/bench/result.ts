/** The bench's result: its JSON shape (validated before it is written), the targets, and the printed table. */
import { z } from 'zod';

const Rate = z.number().finite().min(0);
const PerJob = z.record(z.string(), Rate).refine((calls) => 'total' in calls, 'has a total');
const Percentiles = z.object({ p50: Rate, p95: Rate, samples: z.number().int().min(1) }).strict();

export const BenchResult = z
  .object({
    bench: z.literal('spd-wms'),
    at: z.iso.datetime(),
    host: z.object({ cpus: z.number().int().min(1), load_average_1m: Rate, node: z.string() }).strict(),
    options: z
      .object({
        jobs: z.number().int().min(1),
        slots: z.number().int().min(1),
        pilots: z.number().int().min(1),
        slots_per_pilot: z.number().int().min(1),
        scaling_jobs: z.number().int().min(1).nullable(),
      })
      .strict(),
    /** The settings every number below depends on. */
    tunables: z
      .object({
        control_plane: z.record(z.string(), z.string()),
        schedule_scale: Rate,
        watchdog_period_s: Rate,
        dispatch_schedule_period_s: Rate,
        pilot_heartbeat_interval_s: Rate,
        pilot_poll_wait_s: Rate,
      })
      .strict(),
    jobs_per_s: Rate,
    makespan_s: Rate,
    /** AWS SDK calls of the WMS per job (control-plane functions and pilots), by service. */
    calls_per_job: PerJob,
    calls_per_job_control_plane: PerJob,
    calls_per_job_pilots: PerJob,
    /** Requests to the API per job (pilots' claims, registrations, heartbeats): API Gateway's, not SDK calls. */
    api_requests_per_job: Rate,
    /** The embedded runtime's stream and queue pollers: Lambda's calls on AWS, not the WMS's. */
    runtime_poller_calls_per_job: PerJob,
    /**
     * CPU time per job during the run, by part (the control plane's is the bench process: the
     * embedded runtime, its functions, the API), with how busy the host's
     * cores were and the jobs/s its cores would allow at that cost; null where /proc is missing.
     * `emulator_limit_jobs_per_s`: the jobs/s at which the emulator's one core would be fully
     * busy at its cost per job, and `efficiency_ceiling` the efficiency at that rate: no saving
     * outside the emulator can take efficiency past it.
     */
    cpu: z
      .object({
        ms_per_job: z.object({ emulator: Rate, control_plane: Rate, pilots: Rate, total: Rate }).strict(),
        host_busy: Rate,
        host_steal: Rate,
        limit_jobs_per_s: Rate,
        emulator_limit_jobs_per_s: Rate,
        efficiency_ceiling: Rate,
      })
      .strict()
      .nullable(),
    /** The best of the capacity windows; each window's rate beside it. */
    emulator_calls_per_s: Rate,
    emulator_calls_per_s_windows: z.array(Rate).min(1),
    /**
     * The emulator's CPU time per call: of the capacity measure's cheap calls (its best window),
     * and in the run (the WMS's calls and the runtime pollers'); null where /proc is missing.
     */
    emulator_cpu_ms_per_call: z.object({ capacity: Rate.nullable(), run: Rate.nullable() }).strict(),
    limit_jobs_per_s: Rate,
    efficiency: Rate,
    dispatch_latency_ms: Percentiles,
    dispatch_latency_under_load_ms: Percentiles,
    cancel_kill_ms: Percentiles,
    lost_pilot_recovery_s: Rate,
    fairness_error: Rate,
    fairness: z
      .object({
        window_dispatches: z.number().int().min(1),
        tasks: z.array(
          z
            .object({
              rank: z.number().int(),
              rank_share: Rate,
              dispatch_share: Rate,
              dispatched: z.number().int(),
            })
            .strict(),
        ),
      })
      .strict(),
    scaling: z
      .object({ jobs: z.number().int().min(1), jobs_per_s: Rate, makespan_s: Rate })
      .strict()
      .nullable(),
    scaling_ratio: Rate.nullable(),
    targets_met: z.record(z.string(), z.boolean().nullable()),
  })
  .strict();
export type BenchResult = z.infer<typeof BenchResult>;

/**
 * The targets the WMS is built to (docs/design.md §13), and the 1,000-job Slurm reference on 16
 * slots. Efficiency is reported without a target: its ceiling is the emulator's (docs/benchmark.md).
 */
export const TARGETS = {
  calls_per_job: 8,
  dispatch_latency_p50_ms: 1000,
  cancel_kill_p95_ms: 10_000,
  lost_pilot_recovery_s: 120,
  fairness_error: 0.05,
  scaling_ratio: 0.9,
  slurm_jobs_per_s: 16,
} as const;

export function targetsMet(result: Omit<BenchResult, 'targets_met'>): Record<string, boolean | null> {
  return {
    calls_per_job: (result.calls_per_job.total ?? Number.POSITIVE_INFINITY) <= TARGETS.calls_per_job,
    dispatch_latency_p50: result.dispatch_latency_ms.p50 < TARGETS.dispatch_latency_p50_ms,
    cancel_kill_p95: result.cancel_kill_ms.p95 < TARGETS.cancel_kill_p95_ms,
    lost_pilot_recovery: result.lost_pilot_recovery_s < TARGETS.lost_pilot_recovery_s,
    fairness: result.fairness_error < TARGETS.fairness_error,
    scaling: result.scaling_ratio === null ? null : result.scaling_ratio >= TARGETS.scaling_ratio,
    beats_slurm: result.jobs_per_s > TARGETS.slurm_jobs_per_s,
  };
}

function verdict(met: boolean | null | undefined): string {
  if (met === null || met === undefined) return '—';
  return met ? 'ok' : 'MISSED';
}

function rounded(value: number, digits = 2): string {
  return value.toFixed(digits);
}

function cpuMsPerCall(value: number | null): string {
  return value === null ? '—' : rounded(value);
}

/** The result as a readable table: measure, value, target, verdict. */
export function renderTable(result: BenchResult): string {
  const met = result.targets_met;
  const services = Object.entries(result.calls_per_job)
    .filter(([service]) => service !== 'total')
    .map(([service, calls]) => `${service} ${rounded(calls)}`)
    .join(', ');
  const rows: [string, string, string, string][] = [
    [
      'jobs_per_s',
      rounded(result.jobs_per_s),
      `> ${TARGETS.slurm_jobs_per_s} (Slurm)`,
      verdict(met.beats_slurm),
    ],
    [
      'makespan_s',
      rounded(result.makespan_s, 1),
      `${result.options.jobs} jobs, ${result.options.slots} slots`,
      '',
    ],
    [
      'calls_per_job',
      rounded(result.calls_per_job.total!),
      `≤ ${TARGETS.calls_per_job}`,
      verdict(met.calls_per_job),
    ],
    ['  by service', services, '', ''],
    ['  control plane', rounded(result.calls_per_job_control_plane.total!), '', ''],
    ['  pilots', rounded(result.calls_per_job_pilots.total!), '', ''],
    ['api_requests_per_job', rounded(result.api_requests_per_job), 'API Gateway, not SDK calls', ''],
    ['  runtime pollers', rounded(result.runtime_poller_calls_per_job.total!), "Lambda's on AWS", ''],
    [
      'cpu_ms_per_job',
      result.cpu === null
        ? 'not measured'
        : `${rounded(result.cpu.ms_per_job.total, 1)} (emulator ${rounded(result.cpu.ms_per_job.emulator, 1)}, control plane ${rounded(result.cpu.ms_per_job.control_plane, 1)}, pilots ${rounded(result.cpu.ms_per_job.pilots, 1)})`,
      result.cpu === null
        ? ''
        : `cores ${rounded(result.cpu.host_busy)} busy, ${rounded(result.cpu.host_steal)} stolen`,
      '',
    ],
    [
      '  cpu_limit_jobs_per_s',
      result.cpu === null ? '—' : rounded(result.cpu.limit_jobs_per_s),
      `${result.host.cpus} cores at that cost`,
      '',
    ],
    [
      '  emulator_limit_jobs_per_s',
      result.cpu === null ? '—' : rounded(result.cpu.emulator_limit_jobs_per_s),
      "the emulator's one core at its cost",
      '',
    ],
    [
      'emulator_calls_per_s',
      `${rounded(result.emulator_calls_per_s, 0)} (windows ${result.emulator_calls_per_s_windows.map((rate) => rounded(rate, 0)).join(', ')})`,
      'best of three windows',
      '',
    ],
    ['limit_jobs_per_s', rounded(result.limit_jobs_per_s), '', ''],
    ['efficiency', rounded(result.efficiency), 'no target', ''],
    [
      '  efficiency_ceiling',
      result.cpu === null ? '—' : rounded(result.cpu.efficiency_ceiling),
      "at the emulator's limit",
      '',
    ],
    [
      '  emulator_cpu_ms_per_call',
      `run ${cpuMsPerCall(result.emulator_cpu_ms_per_call.run)}, capacity ${cpuMsPerCall(result.emulator_cpu_ms_per_call.capacity)}`,
      "the emulator's CPU per call",
      '',
    ],
    [
      'dispatch_latency_ms',
      `p50 ${rounded(result.dispatch_latency_ms.p50, 0)} p95 ${rounded(result.dispatch_latency_ms.p95, 0)}`,
      `p50 < ${TARGETS.dispatch_latency_p50_ms}`,
      verdict(met.dispatch_latency_p50),
    ],
    [
      '  under full load',
      `p50 ${rounded(result.dispatch_latency_under_load_ms.p50, 0)} p95 ${rounded(result.dispatch_latency_under_load_ms.p95, 0)}`,
      '',
      '',
    ],
    [
      'cancel_kill_ms',
      `p50 ${rounded(result.cancel_kill_ms.p50, 0)} p95 ${rounded(result.cancel_kill_ms.p95, 0)}`,
      `p95 < ${TARGETS.cancel_kill_p95_ms}`,
      verdict(met.cancel_kill_p95),
    ],
    [
      'lost_pilot_recovery_s',
      rounded(result.lost_pilot_recovery_s, 1),
      `< ${TARGETS.lost_pilot_recovery_s}`,
      verdict(met.lost_pilot_recovery),
    ],
    [
      'fairness_error',
      rounded(result.fairness_error, 3),
      `< ${TARGETS.fairness_error}`,
      verdict(met.fairness),
    ],
    [
      'scaling_ratio',
      result.scaling_ratio === null
        ? 'skipped'
        : `${rounded(result.scaling_ratio)} (${rounded(result.scaling!.jobs_per_s)} jobs/s at ${result.scaling!.jobs})`,
      `≥ ${TARGETS.scaling_ratio}`,
      verdict(met.scaling),
    ],
  ];
  const widths = [0, 1, 2].map((column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => (column < 3 ? cell.padEnd(widths[column]!) : cell))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
