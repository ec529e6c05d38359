/**
 * `wms submit | tasks | status | watch | cancel | rank | jobs | why | logs | retry | hold |
 * release`: tasks and their jobs.
 */
import { readFile } from 'node:fs/promises';
import { type Command, Option } from 'commander';
import {
  JobList,
  JobLogView,
  JobView,
  RegisterTaskRequest,
  RegisterTaskResponse,
  RetryReportView,
  TaskAnalysisView,
  TaskHoldResponse,
  TaskList,
  TaskSummary,
  TaskView,
} from '../../events/index.js';
import { formatIssues } from '../../shared/errors/index.js';
import { JOB_STATES, RANK_MAX, Rank, TASK_STATES } from '../../shared/model/index.js';
import { listAll, pathOf } from './client.js';
import { type CommandContext, jsonOption, type Register, stateOption } from './context.js';
import { CliError, EXIT_CODES } from './exit-codes.js';
import {
  age,
  bytes,
  json,
  plural,
  progressBar,
  progressLines,
  progressSummary,
  table,
  timingText,
} from './format.js';
import { watchTask } from './watch.js';
import { analysisText, explainJob } from './why.js';

const limitOption = () =>
  new Option('--limit <n>', 'list at most n items (default: all)').argParser((text) =>
    positiveInteger(text, '--limit'),
  );

function positiveInteger(text: string, name: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1)
    throw new CliError(`${name} must be a positive integer, got ${text}`, EXIT_CODES.usage);
  return value;
}

/** The task file, parsed and checked against RegisterTaskRequest before anything is sent. */
export async function readTaskFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${(error as Error).message}`, EXIT_CODES.usage, [], {
      cause: error,
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CliError(`${file} is not valid JSON: ${(error as Error).message}`, EXIT_CODES.usage, [], {
      cause: error,
    });
  }
  const parsed = RegisterTaskRequest.safeParse(value);
  if (!parsed.success) {
    throw new CliError(
      `${file} is not a valid task`,
      EXIT_CODES.usage,
      formatIssues(parsed.error).map((issue) => `${issue.path}: ${issue.message}`),
    );
  }
  return value;
}

function taskRows(tasks: readonly TaskSummary[]): string[][] {
  return tasks.map((task) => [
    task.taskId,
    task.name,
    task.state,
    task.device,
    String(task.rank),
    `${progressBar(task.progress, 16)} ${task.progress.percentDone.toFixed(1)}%`,
    `${task.progress.jobs.DONE}/${task.progress.jobsTotal}`,
    String(task.progress.jobs.FAILED),
  ]);
}

export function statusText(task: TaskView, now: Date): string {
  const files = task.progress.files;
  return [
    `Task ${task.taskId} (${task.name}) is ${task.state}`,
    `  ${task.device} ${task.mode}, rank ${task.rank} (base ${task.baseRank}), ${plural(task.maxRetries, 'retry', 'retries')} per job${task.streaming ? ', streaming' : ''}`,
    `  ${task.executable} ${task.args.join(' ')}`,
    `  input   ${task.inputDatasetUid}: ${files.input.count} files, ${bytes(files.input.bytes)}`,
    `  output  ${task.outputDataset}: ${files.output.count} files, ${bytes(files.output.bytes)}`,
    `  logs    ${task.logDataset}: ${files.log.count} files, ${bytes(files.log.bytes)}`,
    `  jobs    ${progressSummary(task.progress)}${task.generationComplete ? '' : ', generation still running'}`,
    `  time    ${timingText({ ...task, progress: task.progress }, now)}`,
    ...progressLines(task.progress).map((line) => `    ${line}`),
  ].join('\n');
}

export function registerTaskCommands(program: Command, register: Register): void {
  register(
    program
      .command('submit')
      .description('register the task in a JSON file (checked locally first, then POST /tasks)')
      .argument(
        '<task.json>',
        'the task: a RegisterTaskRequest (events/json-schema/api.register-task-request.json)',
      )
      .addOption(jsonOption()),
    async (context: CommandContext, file: string, options: { json?: boolean }) => {
      const task = await readTaskFile(file);
      const answer = await context.client().call('POST', '/tasks', RegisterTaskResponse, { body: task });
      context.io.out(
        options.json
          ? json(answer)
          : answer.created
            ? `Task ${answer.taskId} registered: ${answer.state}`
            : `Task ${answer.taskId} was already registered with this specification: ${answer.state}`,
      );
    },
  );

  register(
    program
      .command('tasks')
      .description('list tasks, oldest first')
      .addOption(stateOption('only tasks in this state', TASK_STATES))
      .addOption(limitOption())
      .addOption(jsonOption()),
    async (context: CommandContext, options: { state?: string; limit?: number; json?: boolean }) => {
      const tasks = await listAll(
        (page) =>
          context.client().call('GET', '/tasks', TaskList, { query: { ...page, state: options.state } }),
        options.limit,
      );
      context.io.out(
        options.json
          ? json(tasks)
          : tasks.length === 0
            ? 'No tasks.'
            : table(
                ['TASK', 'NAME', 'STATE', 'DEVICE', '>RANK', 'FINISHED', '>DONE', '>FAILED'],
                taskRows(tasks),
              ),
      );
    },
  );

  register(
    program
      .command('status')
      .description('a task: its specification, datasets and job progress')
      .argument('<task>', 'task id')
      .addOption(jsonOption()),
    async (context: CommandContext, taskId: string, options: { json?: boolean }) => {
      const task = await context.client().call('GET', pathOf('/tasks/{taskId}', taskId), TaskView);
      context.io.out(options.json ? json(task) : statusText(task, new Date()));
    },
  );

  register(
    program
      .command('watch')
      .description('live progress of a task until it ends (exit 0 when DONE, 6 when FAILED or CANCELLED)')
      .argument('<task>', 'task id')
      .addOption(
        new Option('--interval <seconds>', 'seconds between refreshes')
          .default(2)
          .argParser((text) => positiveInteger(text, '--interval')),
      ),
    async (context: CommandContext, taskId: string, options: { interval: number }) => {
      const final = await watchTask(context.client(), taskId, {
        intervalMs: options.interval * 1000,
        write: (text) => context.io.out(text),
        isTTY: context.io.isTTY,
        signal: context.io.signal,
      });
      if (final !== undefined && final.state !== 'DONE') context.setExitCode(EXIT_CODES.unhealthy);
    },
  );

  register(
    program
      .command('cancel')
      .description('cancel a task: pending jobs are never run, running payloads are killed')
      .argument('<task>', 'task id')
      .option('--reason <text>', 'why, for the record', 'cancelled by an operator with wms cancel')
      .addOption(jsonOption()),
    async (context: CommandContext, taskId: string, options: { reason: string; json?: boolean }) => {
      const task = await context
        .client()
        .call('POST', pathOf('/tasks/{taskId}/cancel', taskId), TaskSummary, {
          body: { reason: options.reason },
        });
      context.io.out(
        options.json ? json(task) : `Task ${task.taskId} is ${task.state}: ${progressSummary(task.progress)}`,
      );
    },
  );

  register(
    program
      .command('rank')
      .description(`set a task's rank (1..${RANK_MAX}): higher ranks get more dispatch slots`)
      .argument('<task>', 'task id')
      .argument('<rank>', `the new rank, 1..${RANK_MAX}`)
      .addOption(jsonOption()),
    async (context: CommandContext, taskId: string, rankText: string, options: { json?: boolean }) => {
      const rank = Rank.safeParse(Number(rankText));
      if (!/^\d+$/.test(rankText) || !rank.success) {
        throw new CliError(
          `rank must be an integer from 1 to ${RANK_MAX}, got ${rankText}`,
          EXIT_CODES.usage,
        );
      }
      const task = await context
        .client()
        .call('PUT', pathOf('/tasks/{taskId}/rank', taskId), TaskSummary, { body: { rank: rank.data } });
      context.io.out(
        options.json ? json(task) : `Task ${task.taskId} has rank ${task.rank} (base ${task.baseRank})`,
      );
    },
  );

  register(
    program
      .command('jobs')
      .description("a task's jobs")
      .argument('<task>', 'task id')
      .addOption(stateOption('only jobs in this state', JOB_STATES))
      .addOption(limitOption())
      .addOption(jsonOption()),
    async (
      context: CommandContext,
      taskId: string,
      options: { state?: string; limit?: number; json?: boolean },
    ) => {
      const jobs = await listAll(
        (page) =>
          context.client().call('GET', pathOf('/tasks/{taskId}/jobs', taskId), JobList, {
            query: { ...page, state: options.state },
          }),
        options.limit,
      );
      const now = new Date();
      context.io.out(
        options.json
          ? json(jobs)
          : jobs.length === 0
            ? 'No jobs.'
            : table(
                ['JOB', 'STATE', '>ATTEMPT', 'PILOT', 'PHASE', 'INPUT', '>UPDATED'],
                jobs.map((job) => [
                  job.jobId,
                  job.state,
                  String(job.attempt),
                  job.pilotId ?? '-',
                  job.phase ?? '-',
                  job.inputs.length === 1 ? job.inputs[0]!.name : `${job.inputs.length} files`,
                  `${age(job.updatedAt, now)} ago`,
                ]),
              ),
      );
    },
  );

  register(
    program
      .command('why')
      .description('why a job is not running yet (or what became of it); with --task, a task analysis')
      .argument('[job]', 'job id')
      .option(
        '--task <task>',
        "the job's task (needed once an archived task's job has expired); alone: analyse the task (as wms analyze)",
      )
      .addOption(jsonOption()),
    async (
      context: CommandContext,
      jobId: string | undefined,
      options: { task?: string; json?: boolean },
    ) => {
      if (jobId === undefined) {
        if (options.task === undefined) {
          throw new CliError('name a job, or a task with --task <task>', EXIT_CODES.usage);
        }
        await analyze(context, options.task, options);
        return;
      }
      const job = await context.client().call('GET', pathOf('/jobs/{jobId}', jobId), JobView, {
        query: { taskId: options.task },
      });
      context.io.out(options.json ? json(job) : explainJob(job, new Date()));
    },
  );

  register(
    program
      .command('analyze')
      .description(
        "a task's failed and retried attempts by error and exit code, pilots and hosts, and why its jobs wait",
      )
      .argument('<task>', 'task id')
      .addOption(jsonOption()),
    (context: CommandContext, taskId: string, options: { json?: boolean }) =>
      analyze(context, taskId, options),
  );

  register(
    program
      .command('logs')
      .description("print the log of a job's attempt (its latest attempt by default)")
      .argument('<job>', 'job id')
      .addOption(
        new Option('--attempt <n>', 'the attempt (0 is the first)').argParser((text) => attemptNumber(text)),
      )
      .option('--task <task>', "the job's task (needed once an archived task's job has expired)")
      .addOption(
        new Option('--tail <n>', 'only the last n lines').argParser((text) =>
          positiveInteger(text, '--tail'),
        ),
      )
      .addOption(jsonOption()),
    async (
      context: CommandContext,
      jobId: string,
      options: { attempt?: number; tail?: number; task?: string; json?: boolean },
    ) => {
      const log = await context.client().call('GET', pathOf('/jobs/{jobId}/log', jobId), JobLogView, {
        query: { attempt: options.attempt, taskId: options.task },
      });
      if (options.json) {
        context.io.out(json(log));
        return;
      }
      if (log.truncated) {
        context.io.err(
          `wms: the log is ${bytes(log.size)}; showing its end (s3://${log.location.bucket}/${log.location.key} holds it all)`,
        );
      }
      context.io.out(tailLines(log.text, options.tail));
    },
  );

  register(
    program
      .command('retry')
      .description(
        'retry a FAILED job, or with --task and --failed every failed job of a task, with the next attempt',
      )
      .argument('[job]', 'job id')
      .option('--task <task>', "retry this task's jobs (with --failed)")
      .option('--failed', 'with --task: every FAILED job of the task')
      .addOption(jsonOption()),
    async (
      context: CommandContext,
      jobId: string | undefined,
      options: { task?: string; failed?: boolean; json?: boolean },
    ) => {
      if ((jobId === undefined) === (options.task === undefined)) {
        throw new CliError('name a job, or a task with --task <task> --failed', EXIT_CODES.usage);
      }
      if (options.task !== undefined && !options.failed) {
        throw new CliError('--task retries the failed jobs only: add --failed', EXIT_CODES.usage);
      }
      const path =
        jobId === undefined
          ? pathOf('/tasks/{taskId}/retry', options.task!)
          : pathOf('/jobs/{jobId}/retry', jobId);
      const report = await context.client().call('POST', path, RetryReportView);
      context.io.out(options.json ? json(report) : retryText(report));
      if (report.refused.length > 0) context.setExitCode(EXIT_CODES.conflict);
    },
  );

  for (const [name, description] of [
    ['hold', 'hold a RUNNING task: its READY jobs are not dispatched, its running jobs finish'],
    ['release', 'release a HELD task: its jobs are dispatched again'],
  ] as const) {
    register(
      program.command(name).description(description).argument('<task>', 'task id').addOption(jsonOption()),
      async (context: CommandContext, taskId: string, options: { json?: boolean }) => {
        const answer = await context
          .client()
          .call('POST', pathOf(`/tasks/{taskId}/${name}`, taskId), TaskHoldResponse);
        context.io.out(
          options.json
            ? json(answer)
            : `Task ${answer.task.taskId} is ${answer.task.state}${answer.changed ? '' : ' (it was already)'}: ${progressSummary(answer.task.progress)}`,
        );
      },
    );
  }
}

async function analyze(context: CommandContext, taskId: string, options: { json?: boolean }): Promise<void> {
  const analysis = await context
    .client()
    .call('GET', pathOf('/tasks/{taskId}/analysis', taskId), TaskAnalysisView);
  context.io.out(options.json ? json(analysis) : analysisText(analysis));
}

function attemptNumber(text: string): number {
  if (!/^\d+$/.test(text)) throw new CliError(`--attempt must be 0 or more, got ${text}`, EXIT_CODES.usage);
  return Number(text);
}

/** The last `count` lines of `text` (all of it without a count). */
export function tailLines(text: string, count?: number): string {
  const lines = text.replace(/\n$/, '').split('\n');
  return (count === undefined ? lines : lines.slice(-count)).join('\n');
}

export function retryText(report: RetryReportView): string {
  const lines = report.retried.map((job) => `Job ${job.jobId} is READY for attempt ${job.attempt}.`);
  for (const jobId of report.unchanged) lines.push(`Job ${jobId} was retried already.`);
  for (const refusal of report.refused) lines.push(`Job ${refusal.jobId} not retried: ${refusal.reason}`);
  if (lines.length === 0) lines.push('No failed job to retry.');
  if (report.more) lines.push('More failed jobs are left: run the command again.');
  return lines.join('\n');
}
