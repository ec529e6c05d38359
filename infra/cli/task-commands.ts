/** `wms submit | tasks | status | watch | cancel | rank | jobs | why`: tasks and their jobs. */
import { readFile } from 'node:fs/promises';
import { type Command, Option } from 'commander';
import {
  JobList,
  JobView,
  RegisterTaskRequest,
  RegisterTaskResponse,
  TaskList,
  TaskSummary,
  TaskView,
} from '../../events/index.js';
import { formatIssues } from '../../shared/errors/index.js';
import { JOB_STATES, RANK_MAX, Rank, TASK_STATES } from '../../shared/model/index.js';
import { listAll, pathOf } from './client.js';
import { type CommandContext, jsonOption, type Register } from './context.js';
import { CliError, EXIT_CODES } from './exit-codes.js';
import { age, bar, bytes, json, progressLines, progressSummary, table } from './format.js';
import { watchTask } from './watch.js';
import { explainJob } from './why.js';

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
    `${bar(task.progress.jobs.DONE, task.progress.jobsTotal, 16)} ${task.progress.percentDone.toFixed(1)}%`,
    `${task.progress.jobs.DONE}/${task.progress.jobsTotal}`,
  ]);
}

export function statusText(task: TaskView): string {
  const files = task.progress.files;
  return [
    `Task ${task.taskId} (${task.name}) is ${task.state}`,
    `  ${task.device} ${task.mode}, rank ${task.rank} (base ${task.baseRank}), ${task.maxRetries} retries per job${task.streaming ? ', streaming' : ''}`,
    `  ${task.executable} ${task.args.join(' ')}`,
    `  input   ${task.inputDatasetUid}: ${files.input.count} files, ${bytes(files.input.bytes)}`,
    `  output  ${task.outputDataset}: ${files.output.count} files, ${bytes(files.output.bytes)}`,
    `  logs    ${task.logDataset}: ${files.log.count} files, ${bytes(files.log.bytes)}`,
    `  jobs    ${progressSummary(task.progress)}${task.generationComplete ? '' : ', generation still running'}`,
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
      .addOption(new Option('--state <state>', 'only tasks in this state').choices(TASK_STATES))
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
            : table(['TASK', 'NAME', 'STATE', 'DEVICE', '>RANK', 'PROGRESS', '>DONE'], taskRows(tasks)),
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
      context.io.out(options.json ? json(task) : statusText(task));
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
      .addOption(new Option('--state <state>', 'only jobs in this state').choices(JOB_STATES))
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
      .description('why a job is not running yet (or what became of it)')
      .argument('<job>', 'job id')
      .addOption(jsonOption()),
    async (context: CommandContext, jobId: string, options: { json?: boolean }) => {
      const job = await context.client().call('GET', pathOf('/jobs/{jobId}', jobId), JobView);
      context.io.out(options.json ? json(job) : explainJob(job, new Date()));
    },
  );
}
