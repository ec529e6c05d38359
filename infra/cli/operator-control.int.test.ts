/**
 * The operator's commands as the real `wms` process runs them against the real control plane
 * (the stack on the embedded runtime) with release-bundle pilots: reading a failed payload's
 * log, retrying failed jobs until their task ends DONE, holding and releasing a task, draining
 * a pilot, and showing and purging a dead-letter queue.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import {
  DeadLetterMessages,
  DeadLetterQueueView,
  JobView,
  RetryReportView,
  TaskAnalysisView,
} from '../../events/index.js';
import {
  fleet,
  inputFiles,
  pilotState,
  plane,
  registerTask,
  root,
  usePilotPlane,
  wms,
} from '../../pilot/test-support/plane-suite.js';
import {
  announceDataset,
  shellTask,
  waitForJobs,
  waitForTask,
} from '../../pilot/test-support/plane-tasks.js';
import { awsClients } from '../../shared/aws/index.js';
import { ERRORS } from '../../shared/errors/index.js';
import { eventually } from '../../test/support/index.js';
import { EXIT_CODES } from './exit-codes.js';
import { jsonOf, runWms } from './test-support.js';

const { s3, sqs } = awsClients();
usePilotPlane();

const cli = (...args: string[]) => runWms(args, { WMS_API_URL: plane.apiUrl });

/** A payload that waits until `flag` exists, then copies its input. */
const waitsFor = (flag: string) => `while [ ! -e ${flag} ]; do sleep 0.2; done; cp "$1" "$2/"`;

describe('wms logs and wms retry', () => {
  it("print a failed payload's stderr, then retry its failed jobs until the task ends DONE", async () => {
    // Prepare: two inputs whose first attempt exits 3 after writing "boom" to stderr, and one
    // that waits for a flag, so the task is still RUNNING when they have failed.
    const flag = path.join(root, 'retry-flag');
    const input = await announceDataset(plane, s3, {
      'bad-1.raw': 'one\n',
      'bad-2.raw': 'two\n',
      'slow.raw': 's\n',
    });
    const script = `case "$1" in *bad*) if [ "$3" = 0 ]; then echo "boom in $3" >&2; exit 3; fi;; *) ${waitsFor(flag)}; exit;; esac; cp "$1" "$2/"`;
    const taskId = await registerTask(shellTask(input, script), 3);
    await fleet.start({ name: 'retrying', slots: 3 });
    const failed = await waitForJobs(wms, taskId, (jobs) =>
      expect(jobs.filter((job) => job.state === 'FAILED')).toHaveLength(2),
    );
    const [first, second] = failed.filter((job) => job.state === 'FAILED').map((job) => job.jobId);

    // Act
    const log = await cli('logs', first!);
    const tail = await cli('logs', first!, '--attempt', '0', '--tail', '1');
    const why = await cli('why', first!);
    const analysis = TaskAnalysisView.parse(jsonOf(await cli('analyze', taskId, '--json')));
    const analysisText = await cli('why', '--task', taskId);
    const retriedJob = await cli('retry', first!, '--json');
    const retriedTask = await cli('retry', '--task', taskId, '--failed', '--json');
    await waitForJobs(wms, taskId, (jobs) =>
      expect(
        jobs
          .filter((job) => job.state === 'DONE')
          .map((job) => job.jobId)
          .sort(),
      ).toEqual([first!, second!].sort()),
    );
    await writeFile(flag, '');
    const done = await waitForTask(wms, taskId, 'DONE');

    // Assess
    expect(log.code).toBe(0);
    expect(log.stdout).toContain('boom in 0');
    expect(tail.stdout.trim().split('\n')).toHaveLength(1);
    expect(tail.stdout).toContain('PAYLOAD_NONZERO_EXIT');
    expect(why.stdout).toMatch(new RegExp(`attempt 0: s3://\\S+/${first}\\.0\\.log`));
    expect(analysis).toMatchObject({
      jobs: 3,
      byErrorCode: [{ code: ERRORS.PAYLOAD_NONZERO_EXIT.code, name: 'PAYLOAD_NONZERO_EXIT', jobs: 2 }],
      byExitCode: [{ exitCode: 3, jobs: 2 }],
      // One pilot with three slots ran them all: the two failures and the slow one.
      pilots: [{ failed: 2, running: 1, host: expect.any(String) }],
    });
    expect(analysisText.stdout).toContain('PAYLOAD_NONZERO_EXIT');
    expect(RetryReportView.parse(jsonOf(retriedJob)).retried).toEqual([{ jobId: first, attempt: 1 }]);
    expect(RetryReportView.parse(jsonOf(retriedTask)).retried).toEqual([{ jobId: second, attempt: 1 }]);
    expect(done.counts).toMatchObject({ DONE: 3, FAILED: 0 });
    expect((await cli('audit', '--task', taskId)).code).toBe(0);
  }, 120_000);

  it('refuses to retry a job that has not failed (exit 4), and a finished task (exit 4)', async () => {
    // Prepare
    const input = await announceDataset(plane, s3, inputFiles(1, 'ok'));
    const taskId = await registerTask(shellTask(input, 'cp "$1" "$2/"'), 1);
    await fleet.start({ name: 'finishing', slots: 1 });
    await waitForTask(wms, taskId, 'DONE');
    const [job] = await wms.jobs(taskId);

    // Act
    const byJob = await cli('retry', job!.jobId);
    const byTask = await cli('retry', '--task', taskId, '--failed');
    const withoutFailed = await cli('retry', '--task', taskId);

    // Assess
    expect([byJob.code, byTask.code, withoutFailed.code]).toEqual([
      EXIT_CODES.conflict,
      EXIT_CODES.conflict,
      EXIT_CODES.usage,
    ]);
  }, 90_000);
});

describe('wms hold and wms release', () => {
  it('a held task dispatches nothing while a pilot waits; released, it runs to DONE', async () => {
    // Prepare
    const input = await announceDataset(plane, s3, inputFiles(3, 'held'));
    const task = shellTask(input, 'cp "$1" "$2/"');
    await registerTask(task, 3);
    await waitForTask(wms, task.taskId, 'RUNNING');

    // Act: hold, then give the dispatcher a pilot and several of its 3 s rounds.
    const held = await cli('hold', task.taskId);
    const pilot = await fleet.start({ name: 'held', slots: 3 });
    await pilot.pilotId();
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    const whileHeld = await wms.jobs(task.taskId);
    const claimedWhileHeld = pilot.claimedJobs().length;
    const [waiting] = whileHeld;
    const why = JobView.parse(jsonOf(await cli('why', waiting!.jobId, '--json')));
    const released = await cli('release', task.taskId);
    const done = await waitForTask(wms, task.taskId, 'DONE');

    // Assess
    expect(held.stdout).toContain(`Task ${task.taskId} is HELD`);
    expect(whileHeld.map((job) => job.state)).toEqual(['READY', 'READY', 'READY']);
    expect(claimedWhileHeld).toBe(0);
    expect(pilot.claimedJobs()).toHaveLength(3);
    expect(why.waiting?.reason).toBe('task-held');
    expect(released.stdout).toContain(`Task ${task.taskId} is RUNNING`);
    expect(done.counts.DONE).toBe(3);
  }, 120_000);
});

describe('wms pilot drain', () => {
  it('the pilot finishes its running jobs, takes no new ones and exits; another pilot runs the rest', async () => {
    // Prepare: four jobs that wait for a flag, two slots.
    const flag = path.join(root, 'drain-flag');
    const input = await announceDataset(plane, s3, inputFiles(4, 'drain'));
    const task = shellTask(input, waitsFor(flag));
    await registerTask(task, 4);
    const draining = await fleet.start({ name: 'draining', slots: 2 });
    const pilotId = await draining.pilotId();
    await waitForJobs(wms, task.taskId, (jobs) =>
      expect(jobs.filter((job) => job.state === 'RUNNING')).toHaveLength(2),
    );

    // Act
    const drain = await cli('pilot', 'drain', pilotId);
    await draining.waitFor('drain command received');
    await writeFile(flag, '');
    const exit = await draining.process.exit(60_000);
    const afterExit = await wms.jobs(task.taskId);
    await fleet.start({ name: 'after-drain', slots: 2 });
    const done = await waitForTask(wms, task.taskId, 'DONE');

    // Assess
    expect(drain.code).toBe(0);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(await pilotState(pilotId)).toBe('EXITED');
    expect(draining.claimedJobs()).toHaveLength(2);
    expect(
      afterExit
        .filter((job) => job.state === 'DONE')
        .map((job) => job.jobId)
        .sort(),
    ).toEqual(draining.claimedJobs().sort());
    expect(afterExit.filter((job) => job.state === 'LOST' || job.attempt > 0)).toEqual([]);
    expect(done.counts).toMatchObject({ DONE: 4, FAILED: 0, LOST: 0 });
    expect((await cli('pilot', 'drain', pilotId)).code).toBe(EXIT_CODES.conflict);
  }, 120_000);
});

describe('wms pilot kill', () => {
  it('the pilot stops now as on SIGTERM, its running job goes back and another pilot finishes it', async () => {
    // Prepare: a job that runs until its flag exists, on a one-slot pilot.
    const flag = path.join(root, 'kill-flag');
    const input = await announceDataset(plane, s3, inputFiles(1, 'kill'));
    const task = shellTask(input, waitsFor(flag), { maxRetries: 1 });
    await registerTask(task, 1);
    const killed = await fleet.start({ name: 'killed', slots: 1 });
    const pilotId = await killed.pilotId();
    await killed.waitFor('payload started');

    // Act
    const kill = await cli('pilot', 'kill', pilotId);
    const exit = await killed.process.exit(60_000);
    await writeFile(flag, '');
    await fleet.start({ name: 'after-kill', slots: 1 });
    const done = await waitForTask(wms, task.taskId, 'DONE');
    const [job] = await wms.jobs(task.taskId);

    // Assess
    expect(kill.code).toBe(0);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(killed.linesOf('job finished')).toMatchObject([{ attempt: 0, errorName: 'PILOT_SHUTDOWN' }]);
    expect(await pilotState(pilotId)).toBe('EXITED');
    expect(job).toMatchObject({ state: 'DONE', attempt: 1 });
    expect(done.counts).toMatchObject({ DONE: 1, FAILED: 0 });
  }, 120_000);
});

describe('wms dlq show and wms dlq purge', () => {
  it('show bodies and reasons and leaves them; purge refuses without --yes, then empties the queue', async () => {
    // Prepare: three messages no consumer can parse, dead-lettered with their reason.
    for (const index of [1, 2, 3]) {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: plane.queueUrls.datasetAdmin,
          MessageBody: `{"detail-type": "dataset.upload", "poison": ${index}`,
        }),
      );
    }
    const depth = async () => {
      const queues = DeadLetterQueueView.array().parse(jsonOf(await cli('dlq', 'list', '--json')));
      return queues.find((queue) => queue.name === 'dataset-admin')!.depth;
    };
    await eventually(async () => expect(await depth()).toBe(3), { timeoutMs: 60_000, intervalMs: 1000 });

    // Act
    const shown = DeadLetterMessages.parse(
      jsonOf(await cli('dlq', 'show', 'dataset-admin', '--limit', '2', '--json')),
    );
    const text = await cli('dlq', 'show', 'dataset-admin');
    const depthAfterShow = await depth();
    const refused = await cli('dlq', 'purge', 'dataset-admin');
    const depthAfterRefusal = await depth();
    const purged = await cli('dlq', 'purge', 'dataset-admin', '--yes');

    // Assess
    expect(shown.messages).toHaveLength(2);
    for (const message of shown.messages) {
      expect(message.body).toContain('"poison"');
      expect(message.errorCode).toBe('VALIDATION');
    }
    expect(text.stdout.match(/^ {2}body: /gm)).toHaveLength(3);
    expect(depthAfterShow).toBe(3);
    expect(refused.code).toBe(EXIT_CODES.usage);
    expect(depthAfterRefusal).toBe(3);
    expect(purged.code).toBe(0);
    expect(purged.stdout).toContain('3 messages deleted');
    await eventually(async () => expect(await depth()).toBe(0), { timeoutMs: 30_000, intervalMs: 1000 });
  }, 120_000);
});
