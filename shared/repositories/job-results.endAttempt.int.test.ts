import { beforeAll, describe, expect, it } from 'vitest';
import {
  jobCounts as counts,
  jobScenes,
  jobsFixture,
  outputFile,
  type RepositoryFixture,
} from '../../test/support/index.js';
import { AlreadyExistsError, StateConflictError, ValidationError } from '../errors/index.js';
import type { JobRecord, OutputFile } from '../model/index.js';

let fixture: RepositoryFixture;
const { taskWithJobs, runningJob, countsOf } = jobScenes(() => fixture);

beforeAll(async () => {
  fixture = await jobsFixture('jobs-end-attempt');
});

async function outputDatasets(label: string): Promise<{ output: string; log: string }> {
  for (const kind of ['output', 'log'] as const) {
    await fixture.repos.datasets.create({ uid: `ds-${label}-${kind}`, name: `${label}-${kind}`, kind });
  }
  return { output: `ds-${label}-output`, log: `ds-${label}-log` };
}

function filesOf(job: JobRecord, datasets: { output: string; log: string }, names: string[]) {
  return names.map((name) =>
    name.endsWith('.log')
      ? { datasetUid: datasets.log, jobId: job.jobId, ...outputFile(name, { kind: 'log' }) }
      : { datasetUid: datasets.output, jobId: job.jobId, ...outputFile(name) },
  );
}

describe('JobsRepo.endAttempt', () => {
  it('ends the attempt DONE with its files, the counters and the dataset counts in one call', async () => {
    // Prepare
    const { task, job, claimToken } = await runningJob();
    const datasets = await outputDatasets('end-done');
    const files = filesOf(job, datasets, ['a.root', 'job.log']);
    fixture.calls.reset();

    // Act
    const result = await fixture.repos.jobs.endAttempt({
      ...job,
      claimToken,
      end: {
        to: 'DONE',
        outputs: files.map(({ datasetUid: _uid, jobId: _job, ...file }) => file),
        exitCode: 0,
      },
      files,
      taskStates: ['RUNNING'],
    });

    // Assess
    expect(fixture.calls.snapshot()).toEqual([
      { service: 'DynamoDB', operation: 'TransactWriteItems', calls: 1 },
    ]);
    expect(result.status).toBe('applied');
    expect(await fixture.repos.jobs.get(job.jobId)).toMatchObject({
      state: 'DONE',
      errorCode: 0,
      exitCode: 0,
    });
    expect(await countsOf(task.taskId)).toEqual(counts({ DONE: 1 }));
    expect(await fixture.repos.datasets.get(datasets.output)).toMatchObject({ fileCount: 1 });
    expect(await fixture.repos.files.find(datasets.log, 'job.log')).toMatchObject({ jobId: job.jobId });
  });

  it('retries with the backoff and the log, and counts a log registered before as existing', async () => {
    const { task, job, claimToken } = await runningJob();
    const datasets = await outputDatasets('end-retry');
    const [log] = filesOf(job, datasets, ['retry.log']);
    await fixture.repos.files.register(log!);

    const result = await fixture.repos.jobs.endAttempt({
      ...job,
      claimToken,
      end: { to: 'READY', errorCode: 1201, errorMessage: 'exit 3', retryAfter: '2030-01-01T00:00:10.000Z' },
      files: [log!],
      taskStates: ['RUNNING'],
    });

    expect(result).toMatchObject({
      status: 'applied',
      files: { created: [], existing: [{ name: 'retry.log' }] },
    });
    expect(await fixture.repos.jobs.get(job.jobId)).toMatchObject({
      state: 'READY',
      attempt: 1,
      errorCode: 1201,
      retryAfter: '2030-01-01T00:00:10.000Z',
    });
    expect(await countsOf(task.taskId)).toEqual(counts({ READY: 1 }));
    expect(await fixture.repos.datasets.get(datasets.log)).toMatchObject({ fileCount: 1 });
  });

  it('writes nothing and says which guard refused: the job, the task, or the files', async () => {
    // Prepare
    const stale = await runningJob();
    await fixture.repos.jobs.retry({
      ...stale.job,
      from: 'RUNNING',
      claimToken: stale.claimToken,
      errorCode: 1201,
    });
    const ofCancelledTask = await runningJob();
    await fixture.repos.tasks.transition({
      taskId: ofCancelledTask.task.taskId,
      from: 'RUNNING',
      to: 'CANCELLED',
    });
    const clashing = await runningJob();
    const datasets = await outputDatasets('end-refused');
    const [taken, fresh] = filesOf(clashing.job, datasets, ['taken.root', 'fresh.root']);
    await fixture.repos.files.register({ ...taken!, size: 1 });
    await fixture.repos.datasets.close(datasets.log);
    const [log] = filesOf(clashing.job, datasets, ['closed.log']);
    const end = { to: 'FAILED' as const, errorCode: 1202 };

    // Act
    const jobRefused = await fixture.repos.jobs.endAttempt({
      ...stale.job,
      claimToken: stale.claimToken,
      end,
      files: [],
    });
    const taskRefused = await fixture.repos.jobs.endAttempt({
      ...ofCancelledTask.job,
      claimToken: ofCancelledTask.claimToken,
      end,
      files: [],
      taskStates: ['RUNNING'],
    });
    const filesRefused = await fixture.repos.jobs.endAttempt({
      ...clashing.job,
      claimToken: clashing.claimToken,
      end,
      files: [taken!, fresh!, log!],
      taskStates: ['RUNNING'],
    });

    // Assess
    expect(jobRefused).toMatchObject({ status: 'job-refused', current: { state: 'READY', attempt: 1 } });
    expect(taskRefused).toMatchObject({ status: 'task-refused', current: { taskState: 'CANCELLED' } });
    expect(filesRefused.status).toBe('files-refused');
    const refused = filesRefused.status === 'files-refused' ? filesRefused.refused : [];
    expect(refused.map((refusal) => [refusal.file.name, refusal.error.constructor])).toEqual([
      ['taken.root', AlreadyExistsError],
      ['closed.log', StateConflictError],
    ]);
    expect(refused[0]?.current).toMatchObject({ size: 1 });
    for (const running of [ofCancelledTask, clashing]) {
      expect((await fixture.repos.jobs.get(running.job.jobId)).state).toBe('RUNNING');
      expect(await countsOf(running.task.taskId)).toEqual(counts({ RUNNING: 1 }));
    }
    expect(await fixture.repos.files.find(datasets.output, 'fresh.root')).toBeUndefined();
  });

  it('cancels the job of a cancelled task when no task state is required', async () => {
    const { task, job, claimToken } = await runningJob();
    await fixture.repos.tasks.transition({ taskId: task.taskId, from: 'RUNNING', to: 'CANCELLED' });
    const datasets = await outputDatasets('end-cancel');

    const result = await fixture.repos.jobs.endAttempt({
      ...job,
      claimToken,
      end: { to: 'CANCELLED' },
      files: filesOf(job, datasets, ['kept.log']),
    });

    expect(result.status).toBe('applied');
    expect((await fixture.repos.jobs.get(job.jobId)).state).toBe('CANCELLED');
    expect(await countsOf(task.taskId)).toEqual(counts({ CANCELLED: 1 }));
    expect(await fixture.repos.files.find(datasets.log, 'kept.log')).toBeDefined();
  });

  it('registers files beyond one transaction first, each chunk guarded by the job still being this attempt', async () => {
    // Prepare
    const { task, job, claimToken } = await runningJob();
    const datasets = await outputDatasets('end-many');
    const names = Array.from({ length: 99 }, (_, index) => `many-${index}.root`);
    const stale = await runningJob();
    await fixture.repos.jobs.retry({
      ...stale.job,
      from: 'RUNNING',
      claimToken: stale.claimToken,
      errorCode: 1201,
    });
    fixture.calls.reset();

    // Act
    const applied = await fixture.repos.jobs.endAttempt({
      ...job,
      claimToken,
      end: { to: 'DONE', outputs: names.map((name) => outputFile(name)) },
      files: filesOf(job, datasets, names),
      taskStates: ['RUNNING'],
    });
    const calls = fixture.calls.count({ operation: 'TransactWriteItems' });
    const refused = await fixture.repos.jobs.endAttempt({
      ...stale.job,
      claimToken: stale.claimToken,
      end: { to: 'DONE', outputs: [] },
      files: filesOf(
        stale.job,
        datasets,
        names.map((name) => `stale-${name}`),
      ),
    });

    // Assess
    expect(applied.status).toBe('applied');
    expect(calls).toBe(2);
    expect(await fixture.repos.datasets.get(datasets.output)).toMatchObject({ fileCount: 99 });
    expect(await countsOf(task.taskId)).toEqual(counts({ DONE: 1 }));
    expect(refused.status).toBe('job-refused');
    expect(await fixture.repos.files.find(datasets.output, 'stale-many-0.root')).toBeUndefined();
  });
});

describe('JobsRepo.endAttemptsTogether', () => {
  async function runningJobs(count: number) {
    const { task, jobs } = await taskWithJobs(count);
    await fixture.repos.jobs.markQueued(jobs);
    const claimed: { job: JobRecord; claimToken: string }[] = [];
    for (const job of jobs)
      claimed.push({ job, claimToken: await fixture.repos.jobs.claim({ ...job, pilotId: 'pilot-a' }) });
    return { task, claimed };
  }

  const withoutTarget = ({
    datasetUid: _uid,
    jobId: _job,
    ...file
  }: { datasetUid: string; jobId: string } & OutputFile) => file;

  it("ends several attempts in one transaction, each task's and dataset's counters moved once for all", async () => {
    // Prepare
    const { task, claimed } = await runningJobs(3);
    const datasets = await outputDatasets('together');
    const [first, second, third] = claimed.map(({ job, claimToken }) => ({ ...job, claimToken }));
    const done = (job: JobRecord & { claimToken: string }) => {
      const files = filesOf(job, datasets, [`${job.jobId}.root`, `${job.jobId}.log`]);
      return {
        ...job,
        end: { to: 'DONE' as const, outputs: files.map(withoutTarget) },
        files,
        taskStates: ['RUNNING' as const],
      };
    };
    const retried = {
      ...third!,
      end: {
        to: 'READY' as const,
        errorCode: 1201,
        errorMessage: 'exit 3',
        retryAfter: '2030-01-01T00:00:10.000Z',
      },
      files: filesOf(third!, datasets, [`${third!.jobId}.log`]),
      taskStates: ['RUNNING' as const],
    };
    fixture.calls.reset();

    // Act
    const registered = await fixture.repos.jobs.endAttemptsTogether([done(first!), done(second!), retried]);

    // Assess
    expect(fixture.calls.snapshot()).toEqual([
      { service: 'DynamoDB', operation: 'TransactWriteItems', calls: 1 },
    ]);
    expect(registered?.map((files) => files.map((file) => file.name))).toEqual([
      [`${first!.jobId}.root`, `${first!.jobId}.log`],
      [`${second!.jobId}.root`, `${second!.jobId}.log`],
      [`${third!.jobId}.log`],
    ]);
    const jobs = await fixture.repos.jobs.getMany(claimed.map(({ job }) => job.jobId));
    expect(jobs.map((job) => [job.jobId, job.state, job.attempt]).sort()).toEqual(
      [
        [first!.jobId, 'DONE', 0],
        [second!.jobId, 'DONE', 0],
        [third!.jobId, 'READY', 1],
      ].sort(),
    );
    expect(await countsOf(task.taskId)).toEqual(counts({ DONE: 2, READY: 1 }));
    const output = await fixture.repos.datasets.get(datasets.output);
    const log = await fixture.repos.datasets.get(datasets.log);
    expect([output.fileCount, log.fileCount]).toEqual([2, 3]);
    expect(await fixture.repos.files.find(datasets.log, `${third!.jobId}.log`)).toMatchObject({
      jobId: third!.jobId,
    });
  });

  it('writes nothing when any one of the guards refuses', async () => {
    // Prepare
    const { task, claimed } = await runningJobs(3);
    const datasets = await outputDatasets('together-refused');
    const requests = claimed.map(({ job, claimToken }, index) => {
      const files = filesOf(job, datasets, [`${job.jobId}.root`]);
      // The last one reports with a token that is not its claim's: a stale or foreign result.
      const token = index === 2 ? `${claimToken.slice(0, -1)}x` : claimToken;
      return {
        ...job,
        claimToken: token,
        end: { to: 'DONE' as const, outputs: files.map(withoutTarget) },
        files,
      };
    });

    // Act
    const registered = await fixture.repos.jobs.endAttemptsTogether(requests);

    // Assess
    expect(registered).toBeUndefined();
    const jobs = await fixture.repos.jobs.getMany(claimed.map(({ job }) => job.jobId));
    expect(jobs.map((job) => job.state)).toEqual(['RUNNING', 'RUNNING', 'RUNNING']);
    expect(await countsOf(task.taskId)).toEqual(counts({ RUNNING: 3 }));
    expect((await fixture.repos.datasets.get(datasets.output)).fileCount).toBe(0);
    expect(await fixture.repos.files.find(datasets.output, `${claimed[0]!.job.jobId}.root`)).toBeUndefined();
  });

  it('refuses one job twice, and attempts that do not fit one transaction, before writing', async () => {
    const { claimed } = await runningJobs(1);
    const { job, claimToken } = claimed[0]!;
    const datasets = await outputDatasets('together-invalid');
    const request = (names: string[]) => {
      const files = filesOf(job, datasets, names);
      return { ...job, claimToken, end: { to: 'DONE' as const, outputs: files.map(withoutTarget) }, files };
    };
    fixture.calls.reset();

    await expect(
      fixture.repos.jobs.endAttemptsTogether([request(['a.root']), request(['b.root'])]),
    ).rejects.toThrow(ValidationError);
    const many = Array.from({ length: 98 }, (_, index) => `many-${index}.root`);
    await expect(fixture.repos.jobs.endAttemptsTogether([request(many)])).rejects.toThrow(
      /101 items do not fit one transaction of 100/,
    );
    expect(fixture.calls.snapshot()).toEqual([]);
  });
});
