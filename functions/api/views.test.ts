import { describe, expect, it } from 'vitest';
import { TaskSummary, TaskView } from '../../events/api.js';
import { JOB_STATES, type JobCounts, TaskRecord } from '../../shared/model/index.js';
import { progressOf, taskSummaryOf, taskViewOf } from './views.js';

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
