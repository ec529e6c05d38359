import { describe, expect, it } from 'vitest';
import { DatasetView, JobView, RegisterTaskRequest, TaskListQuery, TaskView } from './api.js';
import { PAGE_LIMIT } from './constants.js';
import jobViewSample from './samples/api.job-view.json' with { type: 'json' };
import taskViewSample from './samples/api.task-view.json' with { type: 'json' };
import { formatIssues } from './validation.js';

describe('RegisterTaskRequest', () => {
  it('fills in the defaults of a minimal task, without a task id', () => {
    // Act
    const request = RegisterTaskRequest.parse({
      name: 'decoding',
      executable: '/opt/spd/bin/spd-decoder',
      device: 'GPU',
      inputDatasetUid: 'in-1',
      outputDataset: 'in-1.output.1',
      logDataset: 'in-1.log.1',
    });

    // Assess
    expect(request).toMatchObject({ args: [], mode: 'map', filesPerJob: 1, rank: 1, streaming: false });
    expect(request.taskId).toBeUndefined();
  });
});

describe('JobView', () => {
  const storedJob = {
    ...jobViewSample,
    waiting: undefined,
    claimToken: '6f1c0e9a4b7d2c3e8f9a0b1c2d3e4f50',
    pk: `JOB#${jobViewSample.jobId}`,
    gsi1pk: 'TASK#wf-run00421.decoding#QUEUED',
  };

  it('drops the claim token and storage attributes of a stored job', () => {
    // Act
    const view = JobView.parse(storedJob);

    // Assess
    expect(view).not.toHaveProperty('claimToken');
    expect(view).not.toHaveProperty('pk');
    expect(view).not.toHaveProperty('gsi1pk');
    expect(view.jobId).toBe(jobViewSample.jobId);
  });

  it('explains waiting only for a job that waits', () => {
    // Act
    const running = JobView.safeParse({ ...jobViewSample, state: 'RUNNING' });

    // Assess
    expect(formatIssues(running.error!).map((issue) => issue.path)).toEqual(['waiting']);
  });
});

describe('TaskView', () => {
  it('requires files of every kind in the progress', () => {
    // Prepare
    const { log: _log, ...files } = taskViewSample.progress.files;

    // Act
    const result = TaskView.safeParse({ ...taskViewSample, progress: { ...taskViewSample.progress, files } });

    // Assess
    expect(formatIssues(result.error!).map((issue) => issue.path)).toEqual(['progress.files.log']);
  });

  it('refuses a percentage above 100', () => {
    // Act
    const result = TaskView.safeParse({
      ...taskViewSample,
      progress: { ...taskViewSample.progress, percentDone: 100.5 },
    });

    // Assess
    expect(formatIssues(result.error!).map((issue) => issue.path)).toEqual(['progress.percentDone']);
  });
});

describe('list queries', () => {
  it('apply the default page size and keep the filter', () => {
    // Act
    const query = TaskListQuery.parse({ state: 'RUNNING' });

    // Assess
    expect(query).toEqual({ limit: PAGE_LIMIT.default, state: 'RUNNING' });
  });

  it('refuse an unknown parameter (a misspelt one would be silently ignored)', () => {
    // Act
    const result = TaskListQuery.safeParse({ limt: '10' });

    // Assess
    expect(formatIssues(result.error!)).toEqual([{ path: 'limt', message: 'unknown field' }]);
  });
});

describe('DatasetView', () => {
  it('refuses an unknown dataset state', () => {
    // Act
    const result = DatasetView.safeParse({
      uid: 'ds-1',
      name: 'input.test.raw',
      kind: 'input',
      state: 'ARCHIVED',
      fileCount: 0,
      totalBytes: 0,
      createdAt: '2025-11-14T08:55:12.300Z',
      version: 0,
    });

    // Assess
    expect(formatIssues(result.error!).map((issue) => issue.path)).toEqual(['state']);
  });
});
