/**
 * The bench's whole code path on a tiny size (20 jobs on 2 pilots, no scaling run, short
 * heartbeats and a fast watchdog), so the bench cannot rot: every field of the result is there
 * and sane. Nothing here is timed against a target; the full run is `npm run bench`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BenchResult, renderTable } from './result.js';
import { type BenchProfile, runBench, runLargeDatasetBench } from './run.js';

const TINY_PROFILE: BenchProfile = {
  tunables: { HEARTBEAT_INTERVAL_SECONDS: '1', PILOT_LOST_AFTER_SECONDS: '4', POWERTOOLS_LOG_LEVEL: 'WARN' },
  scheduleScale: 0.05,
  pilot: { heartbeatIntervalSeconds: 1, pollWaitSeconds: 2 },
  capacitySeconds: 0.5,
  latencyIdleMs: 300,
};

const workDir = mkdtempSync(join(tmpdir(), 'spd-wms-bench-test-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

describe('npm run bench', () => {
  it('measures every figure of the result on a tiny run', async () => {
    // Act
    const result = await runBench({
      jobs: 20,
      slots: 4,
      pilots: 2,
      scalingJobs: null,
      fairnessJobsPerTask: 8,
      latencySamples: 3,
      cancels: 2,
      profile: TINY_PROFILE,
      workDir,
      log: () => undefined,
    });

    // Assess
    expect(BenchResult.parse(result)).toEqual(result);
    expect(result.options).toEqual({ jobs: 20, slots: 4, pilots: 2, slots_per_pilot: 2, scaling_jobs: null });
    expect(result.jobs_per_s).toBeGreaterThan(0);
    expect(result.makespan_s).toBeCloseTo(20 / result.jobs_per_s, 1);
    // Every job claims, stages in, uploads an output and a log, and is reported: calls are counted.
    expect(result.calls_per_job_pilots.S3).toBeGreaterThanOrEqual(3);
    expect(result.calls_per_job_control_plane.DynamoDB).toBeGreaterThanOrEqual(2);
    expect(result.calls_per_job.total).toBeCloseTo(
      result.calls_per_job_control_plane.total! + result.calls_per_job_pilots.total!,
      1,
    );
    expect(result.api_requests_per_job).toBeGreaterThanOrEqual(1);
    expect(result.runtime_poller_calls_per_job.total).toBeGreaterThan(0);
    // Each registered output is announced: the status function's PutEvents are counted in its worker.
    expect(result.calls_per_job_control_plane.EventBridge).toBeGreaterThan(0);
    const cpu = result.cpu!;
    expect(cpu.ms_per_job.emulator).toBeGreaterThan(0);
    expect(cpu.ms_per_job.control_plane).toBeGreaterThan(0);
    expect(cpu.ms_per_job.pilots).toBeGreaterThan(0);
    expect(cpu.ms_per_job.total).toBeCloseTo(
      cpu.ms_per_job.emulator + cpu.ms_per_job.control_plane + cpu.ms_per_job.pilots,
      0,
    );
    expect(cpu.host_busy).toBeGreaterThan(0);
    expect(cpu.host_busy + cpu.host_steal).toBeLessThanOrEqual(1);
    expect(cpu.limit_jobs_per_s).toBeCloseTo((result.host.cpus * 1000) / cpu.ms_per_job.total, 1);
    expect(cpu.emulator_limit_jobs_per_s).toBeCloseTo(1000 / cpu.ms_per_job.emulator, 0);
    expect(cpu.efficiency_ceiling).toBeCloseTo(cpu.emulator_limit_jobs_per_s / result.limit_jobs_per_s, 2);
    expect(result.emulator_cpu_ms_per_call.capacity).toBeGreaterThan(0);
    expect(result.emulator_cpu_ms_per_call.run).toBeCloseTo(
      cpu.ms_per_job.emulator / (result.calls_per_job.total! + result.runtime_poller_calls_per_job.total!),
      1,
    );
    expect(result.emulator_calls_per_s).toBeGreaterThan(0);
    expect(result.emulator_calls_per_s_windows).toHaveLength(3);
    expect(result.emulator_calls_per_s).toBe(Math.max(...result.emulator_calls_per_s_windows));
    expect(result.limit_jobs_per_s).toBeCloseTo(result.emulator_calls_per_s / result.calls_per_job.total!, 1);
    expect(result.efficiency).toBeGreaterThan(0);
    expect(result.dispatch_latency_ms.samples).toBe(3);
    expect(result.dispatch_latency_ms.p95).toBeGreaterThanOrEqual(result.dispatch_latency_ms.p50);
    expect(result.dispatch_latency_under_load_ms.samples).toBe(20);
    expect(result.cancel_kill_ms.samples).toBe(2);
    // A pilot is declared lost only after its silence, so recovery cannot be quicker.
    expect(result.lost_pilot_recovery_s).toBeGreaterThan(4);
    expect(result.fairness.tasks.map((task) => task.rank).sort()).toEqual([1, 2, 4]);
    expect(result.fairness.window_dispatches).toBeGreaterThanOrEqual(8);
    expect(result.fairness_error).toBeLessThanOrEqual(1);
    expect(result.scaling).toBeNull();
    expect(result.targets_met.scaling).toBeNull();
    expect(renderTable(result)).toContain('jobs_per_s');
  }, 300_000);

  it('runs the large-dataset scenario on a tiny dataset, closed by reference both ways, every check passing', async () => {
    // Act
    const result = await runLargeDatasetBench({
      files: 30,
      slots: 4,
      pilots: 2,
      profile: TINY_PROFILE,
      workDir: mkdtempSync(join(workDir, 'dataset-')),
      log: () => undefined,
    });

    // Assess
    expect(result.failed_checks).toEqual([]);
    const { dataset } = result;
    expect(dataset).toMatchObject({ files: 30, input_checklist: 'object' });
    expect(dataset.checks).toMatchObject({
      jobs: 30,
      duplicate_jobs: 0,
      jobs_not_done: 0,
      task_state: 'DONE',
      output_dataset_state: 'CLOSED',
      output_files: 30,
      audit_findings: 0,
      audit_jobs: 30,
    });
    expect(dataset.checks.output_checklist_objects).toBeGreaterThan(0);
    expect(dataset.announce_files_per_s).toBeGreaterThan(0);
    expect(dataset.close_to_output_closed_s).toBeGreaterThanOrEqual(dataset.close_to_task_done_s);
    expect(dataset.close_to_task_done_s).toBeGreaterThanOrEqual(dataset.close_to_last_job_s);
    expect(dataset.emulator_memory!.peak_rss_mib).toBeGreaterThanOrEqual(dataset.emulator_memory!.rss_mib);
    expect(dataset.bench_peak_rss_mib).toBeGreaterThan(0);
  }, 300_000);
});
