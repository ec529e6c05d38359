import { beforeAll, describe, expect, it } from 'vitest';
import {
  jobCounts as counts,
  fileRef,
  jobsFixture,
  type RepositoryFixture,
  taskSpec,
} from '../../test/support/index.js';
import { NotFoundError, StateConflictError, ValidationError } from '../errors/index.js';
import { planJobs } from '../jobgen/index.js';

let fixture: RepositoryFixture;

beforeAll(async () => {
  fixture = await jobsFixture('jobs-generation');
});

describe('JobsRepo.createJobs', () => {
  it('creates each planned job once when generation runs twice, keeping jobsTotal and counts exact', async () => {
    // Prepare
    const taskId = 't-generation-twice';
    const { task } = await fixture.repos.tasks.create(taskId, taskSpec({ mode: 'merge', filesPerJob: 3 }));
    const files = Array.from({ length: 10 }, (_, index) => fileRef(`f${index}.raw`));
    const firstPlan = planJobs({ taskId, mode: 'merge', filesPerJob: 3 }, files.slice(0, 7), {
      final: false,
    });
    const secondPlan = planJobs({ taskId, mode: 'merge', filesPerJob: 3 }, files, { final: true });

    // Act
    const first = await fixture.repos.jobs.createJobs(task, firstPlan.jobs);
    const second = await fixture.repos.jobs.createJobs(task, secondPlan.jobs);
    const third = await fixture.repos.jobs.createJobs(task, secondPlan.jobs);

    // Assess
    expect(first.created).toHaveLength(2);
    expect(second.created).toHaveLength(2);
    expect(second.existing.sort()).toEqual([...first.created].sort());
    expect(third).toEqual({ created: [], existing: secondPlan.jobs.map((job) => job.jobId) });
    const stored = await fixture.repos.tasks.get(taskId);
    expect(stored.jobsTotal).toBe(4);
    expect(stored.counts).toEqual(counts({ READY: 4 }));
    const listed = await fixture.repos.jobs.listByTask(taskId);
    expect(listed.items.map((job) => job.jobId).sort()).toEqual(
      secondPlan.jobs.map((job) => job.jobId).sort(),
    );
    expect(listed.items.every((job) => job.state === 'READY' && job.attempt === 0 && job.rank === 5)).toBe(
      true,
    );
  });

  it('splits large generations into transactions of at most 100 items and counts each job once under concurrency', async () => {
    // Prepare
    const taskId = 't-generation-large';
    const { task } = await fixture.repos.tasks.create(taskId, taskSpec());
    const files = Array.from({ length: 250 }, (_, index) =>
      fileRef(`big_${String(index).padStart(4, '0')}.raw`),
    );
    const plan = planJobs({ taskId, mode: 'map', filesPerJob: 1 }, files, { final: true });
    fixture.calls.reset();

    // Act: two generators race over overlapping halves.
    const [a, b] = await Promise.all([
      fixture.repos.jobs.createJobs(task, plan.jobs.slice(0, 180)),
      fixture.repos.jobs.createJobs(task, plan.jobs.slice(70)),
    ]);

    // Assess
    expect(new Set([...a.created, ...b.created]).size).toBe(250);
    expect(a.created.length + b.created.length).toBe(250);
    const stored = await fixture.repos.tasks.get(taskId);
    expect(stored.jobsTotal).toBe(250);
    expect(stored.counts).toEqual(counts({ READY: 250 }));
    expect(fixture.calls.count({ operation: 'TransactWriteItems' })).toBeGreaterThanOrEqual(4);
  });

  it('refuses jobs for a missing task or one that takes no more jobs, and duplicate ids', async () => {
    const files = [fileRef('x.raw')];
    const plan = planJobs({ taskId: 't-absent', mode: 'map', filesPerJob: 1 }, files, { final: true });
    await expect(
      fixture.repos.jobs.createJobs({ taskId: 't-absent', device: 'CPU', rank: 1 }, plan.jobs),
    ).rejects.toThrow(NotFoundError);

    const { task } = await fixture.repos.tasks.create('t-cancelled-gen', taskSpec());
    await fixture.repos.tasks.transition({ taskId: task.taskId, from: 'REGISTERED', to: 'CANCELLED' });
    const cancelledPlan = planJobs({ taskId: task.taskId, mode: 'map', filesPerJob: 1 }, files, {
      final: true,
    });
    await expect(fixture.repos.jobs.createJobs(task, cancelledPlan.jobs)).rejects.toThrow(StateConflictError);
    expect(await fixture.repos.jobs.listByTask(task.taskId)).toEqual({ items: [] });

    const job = cancelledPlan.jobs[0]!;
    await expect(fixture.repos.jobs.createJobs(task, [job, job])).rejects.toThrow(ValidationError);
  });
});
