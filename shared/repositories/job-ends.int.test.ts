import { beforeAll, describe, expect, it } from 'vitest';
import {
  jobCounts as counts,
  jobScenes,
  jobsFixture,
  type RepositoryFixture,
} from '../../test/support/index.js';
import { InvalidTransitionError } from '../errors/index.js';
import type { JobRecord, JobState } from '../model/index.js';

let fixture: RepositoryFixture;
const { taskWithJobs, countsOf } = jobScenes(() => fixture);

beforeAll(async () => {
  fixture = await jobsFixture('jobs-ends');
});

describe('batch transitions', () => {
  it('cancels pending and running jobs by their state, refusing a job whose state changed', async () => {
    const { task, jobs } = await taskWithJobs(4);
    const [ready, queued, running, moved] = jobs as [JobRecord, JobRecord, JobRecord, JobRecord];
    await fixture.repos.jobs.markQueued([queued, running, moved]);
    await fixture.repos.jobs.claim({ ...running, pilotId: 'pilot-c' });

    const result = await fixture.repos.jobs.cancel([
      { ...ready, from: 'READY' },
      { ...queued, from: 'QUEUED' },
      { ...running, from: 'RUNNING' },
      { ...moved, from: 'READY' },
    ]);

    expect(result.applied.map((job) => job.jobId)).toEqual([ready.jobId, queued.jobId, running.jobId]);
    expect(result.refused.map((refusal) => [refusal.job.jobId, refusal.current?.state])).toEqual([
      [moved.jobId, 'QUEUED'],
    ]);
    expect(await countsOf(task.taskId)).toEqual(counts({ CANCELLED: 3, QUEUED: 1 }));
    expect((await fixture.repos.jobs.listByPilot('pilot-c')).items).toEqual([]);
  });

  it('refuses a transition the job machine does not allow before writing anything', async () => {
    const { jobs } = await taskWithJobs(1);
    fixture.calls.reset();

    await expect(fixture.repos.jobs.cancel([{ ...jobs[0]!, from: 'DONE' as JobState }])).rejects.toThrow(
      InvalidTransitionError,
    );
    expect(fixture.calls.count()).toBe(0);
  });
});
