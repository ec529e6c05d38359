import { planJobs } from '../../shared/jobgen/index.js';
import { JOB_STATES, type JobCounts, type JobRecord, type TaskRecord } from '../../shared/model/index.js';
import { fileRef, pilotRegistration, taskSpec } from './factories.js';
import { type RepositoryFixture, repositoryFixture } from './repositories.js';

/** Pilots that claim in the jobs repository's suites: a claim needs its pilot ACTIVE or IDLE. */
const PILOTS = [
  'p',
  'pilot-count',
  'pilot-late',
  'pilot-c',
  ...Array.from({ length: 20 }, (_, i) => `pilot-${i}`),
];

/** A repository fixture whose claiming pilots are registered. */
export async function jobsFixture(label: string): Promise<RepositoryFixture> {
  const fixture = await repositoryFixture(label);
  for (const pilotId of PILOTS) await fixture.repos.pilots.register(pilotRegistration(pilotId));
  return fixture;
}

/** Job counts with the states not named at zero. */
export function jobCounts(nonZero: Partial<JobCounts>): JobCounts {
  return { ...(Object.fromEntries(JOB_STATES.map((state) => [state, 0])) as JobCounts), ...nonZero };
}

export interface JobScenes {
  /** A RUNNING task with `jobCount` READY map jobs. */
  taskWithJobs(jobCount: number): Promise<{ task: TaskRecord; jobs: JobRecord[] }>;
  /** A RUNNING task with one QUEUED job. */
  queuedJob(): Promise<{ task: TaskRecord; job: JobRecord }>;
  /** A RUNNING task with one job claimed by `pilotId` (registered here). */
  runningJob(pilotId?: string): Promise<{ task: TaskRecord; job: JobRecord; claimToken: string }>;
  /** The task's job counters as stored. */
  countsOf(taskId: string): Promise<JobCounts>;
}

/** Tasks and jobs set up through the repositories of the suite's fixture (read when a scene is built). */
export function jobScenes(fixture: () => RepositoryFixture): JobScenes {
  let taskCounter = 0;

  async function taskWithJobs(jobCount: number): Promise<{ task: TaskRecord; jobs: JobRecord[] }> {
    taskCounter += 1;
    const { repos } = fixture();
    const taskId = `t-jobs-${taskCounter}`;
    await repos.tasks.create(taskId, taskSpec());
    const { task } = await repos.tasks.transition({ taskId, from: 'REGISTERED', to: 'RUNNING' });
    const files = Array.from({ length: jobCount }, (_, index) =>
      fileRef(`run42_${String(index).padStart(5, '0')}.raw`),
    );
    const plan = planJobs({ taskId, mode: 'map', filesPerJob: 1 }, files, { final: true });
    await repos.jobs.createJobs(task, plan.jobs);
    const jobs = await repos.jobs.getMany(plan.jobs.map((job) => job.jobId));
    return { task, jobs: jobs.sort((a, b) => a.jobId.localeCompare(b.jobId)) };
  }

  async function queuedJob(): Promise<{ task: TaskRecord; job: JobRecord }> {
    const { task, jobs } = await taskWithJobs(1);
    const job = jobs[0]!;
    await fixture().repos.jobs.markQueued([job]);
    return { task, job };
  }

  async function runningJob(
    pilotId = 'pilot-a',
  ): Promise<{ task: TaskRecord; job: JobRecord; claimToken: string }> {
    const { task, job } = await queuedJob();
    const { repos } = fixture();
    await repos.pilots.register(pilotRegistration(pilotId));
    const claimToken = await repos.jobs.claim({ ...job, pilotId });
    return { task, job, claimToken };
  }

  async function countsOf(taskId: string): Promise<JobCounts> {
    return (await fixture().repos.tasks.get(taskId)).counts;
  }

  return { taskWithJobs, queuedJob, runningJob, countsOf };
}
