import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { z } from 'zod';
import { ConditionFailedError, NotFoundError, StateConflictError, ValidationError } from '../errors/index.js';
import {
  ARCHIVE_PENDING,
  JOB_STATES,
  JobCounts,
  Rank,
  TaskRecord,
  TaskSpec,
  type TaskState,
} from '../model/index.js';
import { assertTransition, isTerminal } from '../states/index.js';
import { conditionalWrite, parseStored, queryPage, timestamp } from './dynamo.js';
import { Expression } from './expressions.js';
import { TASKS_TABLE } from './tables.js';
import type { Page, PageRequest, RepositoryDeps, StoredItem } from './types.js';

const [BY_STATE, BY_INPUT_DATASET] = TASKS_TABLE.globalIndexes;

export interface CreateTaskResult {
  task: TaskRecord;
  /** False when a task with this id existed already; `task` is then the stored one. */
  created: boolean;
}

/** The task after a change, and whether this call made it (false: it was already made). */
export interface TaskChange {
  task: TaskRecord;
  applied: boolean;
}

export interface TaskTransition {
  taskId: string;
  from: TaskState;
  to: TaskState;
  /** When given, the change also requires this version (optimistic concurrency). */
  expectedVersion?: number;
}

export interface RankChange {
  taskId: string;
  /** The effective rank the scheduler uses. */
  rank: number;
  /** The rank set by the WfMS or an operator, when it changes too. */
  baseRank?: number;
  expectedVersion?: number;
}

/** Counters set from a recount of a task's jobs, if they still hold what the recount was compared with. */
export interface JobRecount {
  taskId: string;
  counts: JobCounts;
  jobsTotal: number;
  /** The counters as read when the recount was made. */
  expected: { counts: JobCounts; jobsTotal: number };
}

function zeroCounts(): JobCounts {
  return Object.fromEntries(JOB_STATES.map((state) => [state, 0])) as JobCounts;
}

function checkedCounts(value: JobCounts, path: string): JobCounts {
  const parsed = JobCounts.safeParse(value);
  if (!parsed.success) throw ValidationError.fromZod(`task ${path}`, parsed.error);
  return parsed.data;
}

function checkedCount(value: number, path: string): number {
  const parsed = TaskRecord.shape.jobsTotal.safeParse(value);
  if (!parsed.success) throw ValidationError.fromZod(`task ${path}`, parsed.error);
  return parsed.data;
}

function checkedRank(value: number, path: string): number {
  const parsed = Rank.safeParse(value);
  if (!parsed.success) throw ValidationError.fromZod(`task ${path}`, parsed.error);
  return parsed.data;
}

/**
 * Tasks. State changes are guarded by the expected state (and version when given) and bump
 * `version`; the per-state job counters are moved only by JobsRepo, in its transactions.
 */
export class TasksRepo {
  readonly #deps: RepositoryDeps;

  constructor(deps: RepositoryDeps) {
    this.#deps = deps;
  }

  get #table(): string {
    return this.#deps.tables.tasks;
  }

  #now(): string {
    return timestamp(this.#deps.clock);
  }

  #parse(item: StoredItem): TaskRecord {
    return parseStored(TaskRecord, item, 'task');
  }

  async find(taskId: string): Promise<TaskRecord | undefined> {
    const response = await this.#deps.doc.send(
      new GetCommand({ TableName: this.#table, Key: { taskId }, ConsistentRead: true }),
    );
    return response.Item ? this.#parse(response.Item) : undefined;
  }

  async get(taskId: string): Promise<TaskRecord> {
    const task = await this.find(taskId);
    if (!task) throw new NotFoundError('task', taskId);
    return task;
  }

  /** Registers a task REGISTERED with zero counters; the same taskId again returns the stored task. */
  async create(taskId: string, spec: z.input<typeof TaskSpec>): Promise<CreateTaskResult> {
    const parsedSpec = TaskSpec.safeParse(spec);
    if (!parsedSpec.success) throw ValidationError.fromZod('task', parsedSpec.error);
    const now = this.#now();
    const record = TaskRecord.safeParse({
      ...parsedSpec.data,
      taskId,
      state: 'REGISTERED',
      baseRank: parsedSpec.data.rank,
      counts: zeroCounts(),
      jobsTotal: 0,
      generationComplete: false,
      createdAt: now,
      updatedAt: now,
      version: 0,
    });
    if (!record.success) throw ValidationError.fromZod('task', record.error);
    const expression = new Expression();
    const result = await conditionalWrite(() =>
      this.#deps.doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: record.data,
          ConditionExpression: `attribute_not_exists(${expression.name('taskId')})`,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ...expression.attributes(),
        }),
      ),
    );
    if (result.ok) return { task: record.data, created: true };
    if (!result.current) throw new NotFoundError('task', taskId);
    return { task: this.#parse(result.current), created: false };
  }

  /** Tasks in one state, oldest first. */
  async listByState(state: TaskState, page: PageRequest = {}): Promise<Page<TaskRecord>> {
    const expression = new Expression();
    return queryPage(
      this.#deps.doc,
      {
        TableName: this.#table,
        IndexName: BY_STATE.indexName,
        KeyConditionExpression: `${expression.name(BY_STATE.partitionKey.name)} = ${expression.value(state)}`,
        ...expression.attributes(),
      },
      page,
      (item) => this.#parse(item),
    );
  }

  /** Tasks reading a dataset, oldest first, in any state. */
  async listByInputDataset(datasetUid: string, page: PageRequest = {}): Promise<Page<TaskRecord>> {
    const expression = new Expression();
    return queryPage(
      this.#deps.doc,
      {
        TableName: this.#table,
        IndexName: BY_INPUT_DATASET.indexName,
        KeyConditionExpression: `${expression.name(BY_INPUT_DATASET.partitionKey.name)} = ${expression.value(datasetUid)}`,
        ...expression.attributes(),
      },
      page,
      (item) => this.#parse(item),
    );
  }

  /** from → to, guarded by the state (and version); stamps endedAt on a final state. */
  async transition(change: TaskTransition): Promise<TaskChange> {
    assertTransition('task', change.from, change.to);
    const now = this.#now();
    const expression = new Expression();
    const conditions = [`${expression.name('state')} = ${expression.value(change.from)}`];
    if (change.expectedVersion !== undefined) {
      conditions.push(`${expression.name('version')} = ${expression.value(change.expectedVersion)}`);
    }
    const result = await conditionalWrite(() =>
      this.#deps.doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { taskId: change.taskId },
          UpdateExpression: expression.update({
            set: {
              state: change.to,
              updatedAt: now,
              endedAt: isTerminal('task', change.to) ? now : undefined,
              // A finished task awaits its archival (shared/services/archival.ts) in `toArchive`.
              archivePending: isTerminal('task', change.to) ? ARCHIVE_PENDING : undefined,
            },
            add: { version: 1 },
          }),
          ConditionExpression: conditions.join(' AND '),
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ...expression.attributes(),
        }),
      ),
    );
    if (result.ok) return { task: this.#parse(result.value.Attributes ?? {}), applied: true };
    if (!result.current) throw new NotFoundError('task', change.taskId);
    const current = this.#parse(result.current);
    if (current.state === change.to) return { task: current, applied: false };
    if (current.state === change.from)
      throw this.#versionConflict(change.taskId, current, change.expectedVersion);
    throw new StateConflictError('task', change.taskId, [change.from]);
  }

  /** Sets the effective rank (and the base rank), bumping the version. */
  async setRank(change: RankChange): Promise<TaskRecord> {
    const set: Record<string, unknown> = { rank: checkedRank(change.rank, 'rank'), updatedAt: this.#now() };
    if (change.baseRank !== undefined) set.baseRank = checkedRank(change.baseRank, 'baseRank');
    const expression = new Expression();
    const conditions = [`attribute_exists(${expression.name('taskId')})`];
    if (change.expectedVersion !== undefined) {
      conditions.push(`${expression.name('version')} = ${expression.value(change.expectedVersion)}`);
    }
    const result = await conditionalWrite(() =>
      this.#deps.doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { taskId: change.taskId },
          UpdateExpression: expression.update({ set, add: { version: 1 } }),
          ConditionExpression: conditions.join(' AND '),
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ...expression.attributes(),
        }),
      ),
    );
    if (result.ok) return this.#parse(result.value.Attributes ?? {});
    if (!result.current) throw new NotFoundError('task', change.taskId);
    throw this.#versionConflict(change.taskId, this.#parse(result.current), change.expectedVersion);
  }

  /** Records that job generation has produced every job; repeating it changes nothing. */
  async markGenerationComplete(taskId: string): Promise<TaskRecord> {
    const expression = new Expression();
    const result = await conditionalWrite(() =>
      this.#deps.doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { taskId },
          UpdateExpression: expression.update({ set: { generationComplete: true } }),
          ConditionExpression: `attribute_exists(${expression.name('taskId')})`,
          ReturnValues: 'ALL_NEW',
          ...expression.attributes(),
        }),
      ),
    );
    if (!result.ok) throw new NotFoundError('task', taskId);
    return this.#parse(result.value.Attributes ?? {});
  }

  /** Moves lastServedAt forward to `at` (never back); false when it was already later. */
  async markServed(taskId: string, at: string): Promise<boolean> {
    const expression = new Expression();
    const lastServedAt = expression.name('lastServedAt');
    const result = await conditionalWrite(() =>
      this.#deps.doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { taskId },
          UpdateExpression: expression.update({ set: { lastServedAt: at } }),
          ConditionExpression: `attribute_exists(${expression.name('taskId')}) AND (attribute_not_exists(${lastServedAt}) OR ${lastServedAt} < ${expression.value(at)})`,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ...expression.attributes(),
        }),
      ),
    );
    if (result.ok) return true;
    if (!result.current) throw new NotFoundError('task', taskId);
    return false;
  }

  /**
   * Sets a task's per-state counters and jobsTotal to a recount (the audit's repair), only if
   * every counter and jobsTotal still hold `expected`: a job change since the recount moved
   * them and refuses this write. Bumps the version so the task's stream carries the correction.
   * False when refused; NotFoundError for an unknown task.
   */
  async recountJobs(recount: JobRecount): Promise<boolean> {
    const counts = checkedCounts(recount.counts, 'counts');
    const jobsTotal = checkedCount(recount.jobsTotal, 'jobsTotal');
    const expression = new Expression();
    const conditions = [
      ...JOB_STATES.map(
        (state) =>
          `${expression.name(`counts.${state}`)} = ${expression.value(recount.expected.counts[state])}`,
      ),
      `${expression.name('jobsTotal')} = ${expression.value(recount.expected.jobsTotal)}`,
    ];
    const result = await conditionalWrite(() =>
      this.#deps.doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { taskId: recount.taskId },
          UpdateExpression: expression.update({
            set: { counts, jobsTotal, updatedAt: this.#now() },
            add: { version: 1 },
          }),
          ConditionExpression: conditions.join(' AND '),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ...expression.attributes(),
        }),
      ),
    );
    if (result.ok) return true;
    if (!result.current) throw new NotFoundError('task', recount.taskId);
    return false;
  }

  #versionConflict(
    taskId: string,
    current: TaskRecord,
    expectedVersion: number | undefined,
  ): ConditionFailedError {
    return new ConditionFailedError(
      'task',
      taskId,
      `task ${taskId} is at version ${current.version}, not ${expectedVersion ?? 'the expected one'}`,
    );
  }
}
