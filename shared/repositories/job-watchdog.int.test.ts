import { beforeAll, describe, expect, it } from 'vitest';
import {
  jobCounts as counts,
  jobScenes,
  jobsFixture,
  type RepositoryFixture,
} from '../../test/support/index.js';

let fixture: RepositoryFixture;
const { queuedJob, runningJob, countsOf } = jobScenes(() => fixture);

beforeAll(async () => {
  fixture = await jobsFixture('jobs-watchdog');
});

describe('batch transitions', () => {
  it('marks the jobs of a lost pilot LOST, then retries or fails them', async () => {
    // Prepare: two jobs run by the lost pilot, one by another pilot.
    const lostA = await runningJob('pilot-lost');
    const lostB = await runningJob('pilot-lost');
    const other = await runningJob('pilot-alive');
    const ofLostPilot = (await fixture.repos.jobs.listByPilot('pilot-lost')).items;

    // Act
    const lost = await fixture.repos.jobs.markLost([
      ...ofLostPilot.map((job) => ({ ...job, from: 'RUNNING' as const, pilotId: 'pilot-lost' })),
      { ...other.job, from: 'RUNNING', pilotId: 'pilot-lost' },
    ]);
    const inFlightLost = await fixture.repos.jobs.listInFlight('LOST');
    const retried = await fixture.repos.jobs.retry({ ...lostA.job, from: 'LOST', errorCode: 1501 });
    const failed = await fixture.repos.jobs.fail({ ...lostB.job, from: 'LOST', errorCode: 1501 });

    // Assess
    expect(lost.applied.map((job) => job.jobId).sort()).toEqual([lostA.job.jobId, lostB.job.jobId].sort());
    expect(lost.refused.map((refusal) => refusal.error.message)).toEqual([
      `job ${other.job.jobId} is not run by pilot pilot-lost`,
    ]);
    expect(inFlightLost.items.map((job) => job.jobId)).toEqual(
      expect.arrayContaining([lostA.job.jobId, lostB.job.jobId]),
    );
    expect([retried, failed]).toEqual([true, true]);
    expect(await fixture.repos.jobs.get(lostA.job.jobId)).toMatchObject({ state: 'READY', attempt: 1 });
    expect(await countsOf(lostA.task.taskId)).toEqual(counts({ READY: 1 }));
    expect(await countsOf(lostB.task.taskId)).toEqual(counts({ FAILED: 1 }));
    expect(await countsOf(other.task.taskId)).toEqual(counts({ RUNNING: 1 }));
    expect((await fixture.repos.jobs.listInFlight('LOST')).items.map((job) => job.jobId)).not.toContain(
      lostA.job.jobId,
    );
  });

  it('finds jobs stuck in QUEUED by age and requeues them with the same attempt', async () => {
    const { task, job } = await queuedJob();
    const later = new Date(Date.now() + 60_000).toISOString();
    const earlier = new Date(Date.now() - 60_000).toISOString();

    const stuck = await fixture.repos.jobs.listInFlight('QUEUED', { updatedBefore: later, limit: 1000 });
    const fresh = await fixture.repos.jobs.listInFlight('QUEUED', { updatedBefore: earlier });
    const requeued = await fixture.repos.jobs.requeue([job]);

    expect(stuck.items.map((item) => item.jobId)).toContain(job.jobId);
    expect(fresh.items.map((item) => item.jobId)).not.toContain(job.jobId);
    expect(requeued.applied).toEqual([{ jobId: job.jobId, taskId: task.taskId, attempt: 0, from: 'QUEUED' }]);
    expect(await fixture.repos.jobs.get(job.jobId)).toMatchObject({ state: 'READY', attempt: 0 });
    expect(await countsOf(task.taskId)).toEqual(counts({ READY: 1 }));
  });
});
