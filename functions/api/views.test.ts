import { describe, expect, it } from 'vitest';
import { PilotView, TaskSummary, TaskView } from '../../events/api.js';
import { JOB_STATES, type JobCounts, PilotRecord, TaskRecord } from '../../shared/model/index.js';
import { pilotViewOf, progressOf, taskSummaryOf, taskViewOf } from './views.js';

function taskWith(counts: Partial<JobCounts>, jobsTotal: number): TaskRecord {
  return TaskRecord.parse({
    taskId: 't-1',
    name: 'reco',
    executable: '/opt/spd/bin/reco',
    device: 'CPU',
    inputDatasetUid: 'ds-in',
    outputDataset: 'out',
    logDataset: 'logs',
    state: 'RUNNING',
    baseRank: 1,
    counts: { ...Object.fromEntries(JOB_STATES.map((state) => [state, 0])), ...counts },
    jobsTotal,
    generationComplete: true,
    createdAt: '2030-01-01T00:00:00.000Z',
    updatedAt: '2030-01-01T00:00:00.000Z',
    version: 3,
  });
}

describe('progressOf', () => {
  it('counts DONE, FAILED and CANCELLED jobs as finished, to two decimals', () => {
    const task = taskWith({ DONE: 1, FAILED: 1, CANCELLED: 0, RUNNING: 1 }, 3);
    expect(progressOf(task)).toEqual({ jobs: task.counts, jobsTotal: 3, percentDone: 66.67 });
  });

  it('is 0 % for a task without jobs', () => {
    expect(progressOf(taskWith({}, 0)).percentDone).toBe(0);
  });
});

describe('task views', () => {
  it('validate against their response schemas, absent datasets counting zero files', () => {
    const task = taskWith({ DONE: 2 }, 2);
    expect(TaskSummary.parse(taskSummaryOf(task)).progress.percentDone).toBe(100);
    const output = {
      uid: 'ds-out',
      name: 'out',
      kind: 'output' as const,
      state: 'OPEN' as const,
      fileCount: 2,
      totalBytes: 2048,
      createdAt: '2030-01-01T00:00:00.000Z',
      version: 0,
    };
    const view = TaskView.parse(taskViewOf(task, { input: undefined, output, log: undefined }));
    expect(view.progress.files).toEqual({
      input: { count: 0, bytes: 0 },
      output: { count: 2, bytes: 2048 },
      log: { count: 0, bytes: 0 },
    });
  });
});

describe('pilot views', () => {
  const pilot = PilotRecord.parse({
    pilotId: 'p-1',
    host: 'node07',
    device: 'CPU',
    slots: 16,
    busySlots: 16,
    state: 'ACTIVE',
    version: '1.0.0',
    startedAt: '2030-01-01T00:00:00.000Z',
    lastHeartbeatAt: '2030-01-01T00:01:00.000Z',
  });

  it('count the jobs the last heartbeat reported instead of listing them, and keep the unreported ones', () => {
    // Prepare
    const reportedJobs = Array.from({ length: 1024 }, (_, index) => ({ jobId: `j-${index}`, attempt: 0 }));
    const unreportedJobs = [{ jobId: 'j-lost', attempt: 1, since: '2030-01-01T00:00:30.000Z' }];

    // Act
    const view = pilotViewOf({ ...pilot, reportedJobs, unreportedJobs });

    // Assess
    expect(PilotView.parse(view)).toEqual(view);
    expect(view).toEqual({ ...pilot, reportedJobCount: 1024, unreportedJobs });
    expect(view).not.toHaveProperty('reportedJobs');
  });

  it('leave the count out for a pilot whose heartbeats have reported no jobs yet', () => {
    expect(pilotViewOf(pilot)).toEqual(pilot);
    expect(pilotViewOf({ ...pilot, reportedJobs: [] })).toEqual({ ...pilot, reportedJobCount: 0 });
  });
});
