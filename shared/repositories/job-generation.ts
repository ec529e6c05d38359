/** Job creation: a task's planned jobs written READY and counted in the task. */
import { NotFoundError, StateConflictError } from '../errors/index.js';
import { type Device, JobRecord } from '../model/index.js';
import { GENERATING_TASK_STATES } from '../states/index.js';
import { type BatchEntry, rejectDuplicates, writeBatch } from './dynamo.js';
import { Expression } from './expressions.js';
import { counterShardsOf, shardCounterKey, shardCountersUpdate } from './job-counters.js';
import { checked, type JobTransitions, storedJob } from './job-transitions.js';
import type { RepositoryDeps } from './types.js';

/** The task fields a new job copies. */
export interface JobTaskContext {
  taskId: string;
  device: Device;
  rank: number;
}

/** A job to create: its deterministic id and inputs (as shared/jobgen plans them). */
export interface NewJob {
  jobId: string;
  inputs: JobRecord['inputs'];
}

export interface CreateJobsResult {
  created: string[];
  /** Jobs that existed already (an earlier or concurrent generation made them). */
  existing: string[];
}

export class JobGeneration {
  readonly #deps: RepositoryDeps;
  readonly #transitions: JobTransitions;

  constructor(deps: RepositoryDeps, transitions: JobTransitions) {
    this.#deps = deps;
    this.#transitions = transitions;
  }

  /**
   * Creates a task's jobs READY, in transactions of up to 100 items: jobs plus the update of
   * each counter shard they count on. A job that exists already is left alone and not counted, so running generation
   * again creates nothing twice and `jobsTotal` / `counts.READY` stay exact. Refused with
   * NotFoundError / StateConflictError when the task is missing or no longer takes jobs.
   */
  async createJobs(task: JobTaskContext, jobs: readonly NewJob[]): Promise<CreateJobsResult> {
    rejectDuplicates(
      jobs.map((job) => job.jobId),
      'jobs',
    );
    const counterShards = (await counterShardsOf(this.#deps, [task.taskId]))(task.taskId);
    const now = this.#transitions.now();
    const entries: BatchEntry<string>[] = jobs.map((job, index) => {
      const record = checked(
        JobRecord,
        {
          jobId: job.jobId,
          taskId: task.taskId,
          state: 'READY',
          attempt: 0,
          device: task.device,
          rank: task.rank,
          inputs: job.inputs,
          createdAt: now,
          updatedAt: now,
        },
        `job ${index}`,
      );
      const expression = new Expression();
      return {
        entry: job.jobId,
        counterKey: shardCounterKey(task.taskId, counterShards, job.jobId),
        write: {
          Put: {
            TableName: this.#deps.tables.jobs,
            Item: storedJob(record),
            ConditionExpression: `attribute_not_exists(${expression.name('jobId')})`,
            ...expression.attributes(),
          },
        },
      };
    });
    const outcome = await writeBatch(this.#deps.doc, entries, (_key, created) =>
      shardCountersUpdate(
        this.#deps.tables.tasks,
        task.taskId,
        counterShards,
        created.map(({ entry }) => ({ jobId: entry, to: 'READY' })),
        undefined,
        GENERATING_TASK_STATES,
      ),
    );
    const taskRefusal = outcome.refused.find((refused) => refused.refusedBy === 'counter');
    if (taskRefusal) {
      throw taskRefusal.refusal.item
        ? new StateConflictError('task', task.taskId, GENERATING_TASK_STATES)
        : new NotFoundError('task', task.taskId);
    }
    return { created: outcome.written, existing: outcome.refused.map((refused) => refused.entry) };
  }
}
