import { beforeAll, describe, expect, it } from 'vitest';
import { jobScenes, jobsFixture, type RepositoryFixture } from '../../test/support/index.js';
import { NotFoundError, ValidationError } from '../errors/index.js';

let fixture: RepositoryFixture;
const { taskWithJobs } = jobScenes(() => fixture);

beforeAll(async () => {
  fixture = await jobsFixture('jobs');
});

describe('job queries', () => {
  it('page through a task by state with cursors', async () => {
    const { task, jobs } = await taskWithJobs(7);
    await fixture.repos.jobs.markQueued(jobs.slice(0, 2));

    const pages = [];
    let page = await fixture.repos.jobs.listByTask(task.taskId, { state: 'READY', limit: 2 });
    pages.push(page.items);
    while (page.cursor) {
      page = await fixture.repos.jobs.listByTask(task.taskId, {
        state: 'READY',
        limit: 2,
        cursor: page.cursor,
      });
      pages.push(page.items);
    }

    const ids = pages.flat().map((job) => job.jobId);
    expect(ids).toEqual(jobs.slice(2).map((job) => job.jobId));
    expect(pages.every((items) => items.length <= 2)).toBe(true);
    await expect(fixture.repos.jobs.listByTask(task.taskId, { cursor: 'not-a-cursor' })).rejects.toThrow(
      ValidationError,
    );
    await expect(fixture.repos.jobs.listByTask(task.taskId, { limit: 0 })).rejects.toThrow(ValidationError);
  });

  it('get an unknown job as NotFoundError and skip unknown ids in getMany', async () => {
    const { jobs } = await taskWithJobs(2);

    await expect(fixture.repos.jobs.get('j-none')).rejects.toThrow(NotFoundError);
    expect(await fixture.repos.jobs.find('j-none')).toBeUndefined();
    const many = await fixture.repos.jobs.getMany([jobs[0]!.jobId, 'j-none', jobs[1]!.jobId]);
    expect(many.map((job) => job.jobId).sort()).toEqual(jobs.map((job) => job.jobId).sort());
  });
});
