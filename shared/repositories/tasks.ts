import { GetCommand, type TransactWriteItem, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { z } from 'zod';
import {
  type Counters,
  checkShardCount,
  countersByShard,
  DEFAULT_COUNTER_SHARDS,
  sameCounters,
  sumCounters,
} from '../counters/index.js';
import {
  ConditionFailedError,
  CorruptItemError,
  NotFoundError,
  StateConflictError,
  ValidationError,
} from '../errors/index.js';
import {
  ARCHIVE_PENDING,
  JOB_STATES,
  type JobRecord,
  Rank,
  TaskItem,
  type TaskRecord,
  TaskSpec,
  type TaskState,
} from '../model/index.js';
import { assertTransition, isTerminal } from '../states/index.js';
import {
  counterShardKey,
  countersOf,
  newCounterShard,
  readCounterShards,
  rememberShardCount,
  shardCountsOf,
} from './counter-shards.js';
import {
  conditionalWrite,
  type ItemRefusal,
  parseStored,
  queryPage,
  timestamp,
  transactWrite,
} from './dynamo.js';
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
  /** Every job of the task, as the recount found them. */
  jobs: readonly Pick<JobRecord, 'jobId' | 'state'>[];
  /** The counters as read when the recount was made. */
  expected: Counters;
}

export interface CreateTaskOptions {
  /** Counter shards of the task (DEFAULT_COUNTER_SHARDS when absent). */
  counterShards?: number;
}

function checkedRank(value: number, path: string): number {
  const parsed = Rank.safeParse(value);
  if (!parsed.success) throw ValidationError.fromZod(`task ${path}`, parsed.error);
  return parsed.data;
}

/**
 * Tasks. State changes are guarded by the expected state (and version when given) and bump
 * `version`. A task's job counters live in its counter shards (counter-shards.ts), moved only by
 * JobsRepo in its transactions; every read here returns the task with its shards summed,
 * read consistently.
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

  #parse(item: StoredItem): TaskItem {
    const task = parseStored(TaskItem, item, 'task');
    rememberShardCount(this.#table, task.taskId, task.counterShards);
    return task;
  }

  /** The tasks with their counters: the sums of their shards (one BatchGetItem per 100 shards). */
  async #withCounters(items: readonly TaskItem[]): Promise<TaskRecord[]> {
    if (items.length === 0) return [];
    const shards = await readCounterShards(this.#deps, items);
    return items.map((item) => {
      const own = shards.get(item.taskId) ?? [];
      const { counterShards: _, ...task } = item;
      const served = [item.lastServedAt, ...own.map((shard) => shard.lastServedAt)]
        .filter((at): at is string => at !== undefined)
        .sort()
        .at(-1);
      return {
        ...task,
        ...sumCounters(own.map(countersOf)),
        ...(served === undefined ? {} : { lastServedAt: served }),
      };
    });
  }

  async #withCountersOf(item: TaskItem): Promise<TaskRecord> {
    const [task] = await this.#withCounters([item]);
    return task!;
  }

  /** The task item alone, without its counters: one GetItem, for what needs only the task's spec or state. */
  async findItem(taskId: string): Promise<TaskItem | undefined> {
    const response = await this.#deps.doc.send(
      new GetCommand({ TableName: this.#table, Key: { taskId }, ConsistentRead: true }),
    );
    return response.Item ? this.#parse(response.Item) : undefined;
  }

  async find(taskId: string): Promise<TaskRecord | undefined> {
    const item = await this.findItem(taskId);
    return item ? this.#withCountersOf(item) : undefined;
  }

  async get(taskId: string): Promise<TaskRecord> {
    const task = await this.find(taskId);
    if (!task) throw new NotFoundError('task', taskId);
    return task;
  }

  /**
   * Registers a task REGISTERED with its counter shards at zero, in one transaction; the same
   * taskId again returns the stored task.
   */
  async create(
    taskId: string,
    spec: z.input<typeof TaskSpec>,
    options: CreateTaskOptions = {},
  ): Promise<CreateTaskResult> {
    const parsedSpec = TaskSpec.safeParse(spec);
    if (!parsedSpec.success) throw ValidationError.fromZod('task', parsedSpec.error);
    const counterShards = checkShardCount(options.counterShards ?? DEFAULT_COUNTER_SHARDS);
    const now = this.#now();
    const record = TaskItem.safeParse({
      ...parsedSpec.data,
      taskId,
      state: 'REGISTERED',
      baseRank: parsedSpec.data.rank,
      counterShards,
      generationComplete: false,
      createdAt: now,
      updatedAt: now,
      version: 0,
    });
    if (!record.success) throw ValidationError.fromZod('task', record.error);
    const expression = new Expression();
    const reasons = await transactWrite(this.#deps.doc, [
      {
        Put: {
          TableName: this.#table,
          Item: record.data,
          ConditionExpression: `attribute_not_exists(${expression.name('taskId')})`,
          ...expression.attributes(),
        },
      },
      ...Array.from({ length: counterShards }, (_, shard) => {
        const shardExpression = new Expression();
        return {
          Put: {
            TableName: this.#table,
            Item: newCounterShard(taskId, shard, 'REGISTERED'),
            ConditionExpression: `attribute_not_exists(${shardExpression.name('taskId')})`,
            ...shardExpression.attributes(),
          },
        };
      }),
    ]);
    if (!reasons) {
      rememberShardCount(this.#table, taskId, counterShards);
      const { counterShards: _, ...task } = record.data;
      return { task: { ...task, counts: sumCounters([]).counts, jobsTotal: 0 }, created: true };
    }
    return { task: await this.get(taskId), created: false };
  }

  /** Tasks in one state, oldest first. */
  async listByState(state: TaskState, page: PageRequest = {}): Promise<Page<TaskRecord>> {
    const expression = new Expression();
    return this.#pageWithCounters(
      await queryPage(
        this.#deps.doc,
        {
          TableName: this.#table,
          IndexName: BY_STATE.indexName,
          KeyConditionExpression: `${expression.name(BY_STATE.partitionKey.name)} = ${expression.value(state)}`,
          ...expression.attributes(),
        },
        page,
        (item) => this.#parse(item),
      ),
    );
  }

  /** Tasks reading a dataset, oldest first, in any state. */
  async listByInputDataset(datasetUid: string, page: PageRequest = {}): Promise<Page<TaskRecord>> {
    const expression = new Expression();
    return this.#pageWithCounters(
      await queryPage(
        this.#deps.doc,
        {
          TableName: this.#table,
          IndexName: BY_INPUT_DATASET.indexName,
          KeyConditionExpression: `${expression.name(BY_INPUT_DATASET.partitionKey.name)} = ${expression.value(datasetUid)}`,
          ...expression.attributes(),
        },
        page,
        (item) => this.#parse(item),
      ),
    );
  }

  async #pageWithCounters(page: Page<TaskItem>): Promise<Page<TaskRecord>> {
    return { ...page, items: await this.#withCounters(page.items) };
  }

  /**
   * from → to, guarded by the state (and version); stamps endedAt on a final state. The task's
   * state is copied to each of its counter shards in the same transaction, for the job changes
   * that depend on it. Returns the task as read after the change.
   */
  async transition(change: TaskTransition): Promise<TaskChange> {
    assertTransition('task', change.from, change.to);
    const counterShards = (await shardCountsOf(this.#deps, [change.taskId])).get(change.taskId);
    if (counterShards === undefined) throw new NotFoundError('task', change.taskId);
    const now = this.#now();
    const expression = new Expression();
    const conditions = [`${expression.name('state')} = ${expression.value(change.from)}`];
    if (change.expectedVersion !== undefined) {
      conditions.push(`${expression.name('version')} = ${expression.value(change.expectedVersion)}`);
    }
    const reasons = await transactWrite(this.#deps.doc, [
      {
        Update: {
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
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ...expression.attributes(),
        },
      },
      ...this.#shardUpdates(change.taskId, counterShards, () => ({ set: { taskState: change.to } })),
    ]);
    if (!reasons) return { task: await this.get(change.taskId), applied: true };
    const current = this.#refusedTask(change.taskId, reasons);
    if (current.state === change.to) return { task: await this.#withCountersOf(current), applied: false };
    if (current.state === change.from)
      throw this.#versionConflict(change.taskId, current, change.expectedVersion);
    throw new StateConflictError('task', change.taskId, [change.from]);
  }

  /** An update of each counter shard of a task, guarded by the shard existing, or by `condition`. */
  #shardUpdates(
    taskId: string,
    counterShards: number,
    parts: (shard: number) => {
      set?: Record<string, unknown>;
      add?: Record<string, number>;
      condition?: (expression: Expression) => string;
    },
  ): TransactWriteItem[] {
    return Array.from({ length: counterShards }, (_, shard) => {
      const { condition, ...update } = parts(shard);
      const expression = new Expression();
      return {
        Update: {
          TableName: this.#table,
          Key: counterShardKey(taskId, shard),
          UpdateExpression: expression.update(update),
          ConditionExpression: condition
            ? condition(expression)
            : `attribute_exists(${expression.name('taskId')})`,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ...expression.attributes(),
        },
      };
    });
  }

  /**
   * The task item as it was when a transaction whose first item is the task's was refused by
   * that item's condition. NotFoundError when the task is missing; a transaction refused only
   * by a counter shard means a shard is missing, which never happens to a sound task.
   */
  #refusedTask(taskId: string, reasons: readonly ItemRefusal[]): TaskItem {
    const [taskReason] = reasons;
    if (taskReason?.code !== 'ConditionalCheckFailed') {
      throw new CorruptItemError('task counters', [
        { path: 'counterShards', message: `a counter shard of task ${taskId} is missing` },
      ]);
    }
    if (!taskReason.item) throw new NotFoundError('task', taskId);
    return this.#parse(taskReason.item);
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
    if (result.ok) return this.#withCountersOf(this.#parse(result.value.Attributes ?? {}));
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
    return this.#withCountersOf(this.#parse(result.value.Attributes ?? {}));
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
   * Sets a task's counters to a recount of its jobs (the audit's repair), only if they still hold
   * `expected`: each shard is set to the jobs it counts, in one transaction guarded by every
   * shard still holding what was read here, whose sum was `expected`; a job change since the
   * recount moved a shard and refuses the write. Bumps the task's version, so its stream carries
   * the correction. False when refused; NotFoundError for an unknown task.
   */
  async recountJobs(recount: JobRecount): Promise<boolean> {
    const item = await this.findItem(recount.taskId);
    if (!item) throw new NotFoundError('task', recount.taskId);
    const shards = (await readCounterShards(this.#deps, [item])).get(item.taskId) ?? [];
    if (!sameCounters(sumCounters(shards.map(countersOf)), recount.expected)) return false;
    const recounted = countersByShard(recount.jobs, item.counterShards);
    const version = new Expression();
    const reasons = await transactWrite(this.#deps.doc, [
      {
        Update: {
          TableName: this.#table,
          Key: { taskId: recount.taskId },
          UpdateExpression: version.update({ set: { updatedAt: this.#now() }, add: { version: 1 } }),
          ConditionExpression: `attribute_exists(${version.name('taskId')})`,
          ...version.attributes(),
        },
      },
      ...this.#shardUpdates(recount.taskId, item.counterShards, (shard) => ({
        set: { counts: recounted[shard]!.counts, jobsTotal: recounted[shard]!.jobsTotal },
        condition: (expression) => holds(expression, countersOf(shards[shard]!)),
      })),
    ]);
    return reasons === undefined;
  }

  #versionConflict(
    taskId: string,
    current: { version: number },
    expectedVersion: number | undefined,
  ): ConditionFailedError {
    return new ConditionFailedError(
      'task',
      taskId,
      `task ${taskId} is at version ${current.version}, not ${expectedVersion ?? 'the expected one'}`,
    );
  }
}

/** A condition that a shard's counters still hold `counters`. */
function holds(expression: Expression, counters: Counters): string {
  return [
    ...JOB_STATES.map(
      (state) => `${expression.name(`counts.${state}`)} = ${expression.value(counters.counts[state])}`,
    ),
    `${expression.name('jobsTotal')} = ${expression.value(counters.jobsTotal)}`,
  ].join(' AND ');
}
