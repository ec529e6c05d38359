/**
 * The DynamoDB side of archiving finished tasks: the tasks due for it (a sparse index), the
 * conditional mark of an exported task, the TTL attribute on its exported items, and the end
 * of its archival. The export itself is shared/services/archival.ts.
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { NotFoundError } from '../errors/index.js';
import { ARCHIVE_PENDING, type TaskArchive, TaskItem } from '../model/index.js';
import { TERMINAL_TASK_STATES } from '../states/index.js';
import { conditionalWrite, parseStored, queryPage } from './dynamo.js';
import { Expression } from './expressions.js';
import { ARCHIVE_EXPIRY_ATTRIBUTE as EXPIRY, JOBS_TABLE, TASKS_TABLE } from './tables.js';
import type { Page, PageRequest, RepositoryDeps } from './types.js';

const [, , TO_ARCHIVE] = TASKS_TABLE.globalIndexes;
const [BY_TASK] = JOBS_TABLE.globalIndexes;

export class ArchiveRepo {
  readonly #deps: RepositoryDeps;

  constructor(deps: RepositoryDeps) {
    this.#deps = deps;
  }

  /**
   * Finished tasks whose archival is not over, ended before `endedBefore`, oldest first. Only
   * these carry the sparse index's key (set with the final state, removed by `finish`), so
   * the query never reads the tasks archived before. The items come without their counters:
   * the caller reads those (tasks.get) for the few it works on.
   */
  async listDue(endedBefore: string, page: PageRequest = {}): Promise<Page<TaskItem>> {
    const expression = new Expression();
    return queryPage(
      this.#deps.doc,
      {
        TableName: this.#deps.tables.tasks,
        IndexName: TO_ARCHIVE.indexName,
        KeyConditionExpression: `${expression.name(TO_ARCHIVE.partitionKey.name)} = ${expression.value(ARCHIVE_PENDING)} AND ${expression.name(TO_ARCHIVE.sortKey.name)} < ${expression.value(endedBefore)}`,
        ...expression.attributes(),
      },
      page,
      (item) => parseStored(TaskItem, item, 'task'),
    );
  }

  /**
   * Records the complete export on its finished task, once: `applied: false` with the task as
   * it is when another run recorded one first (the caller goes on with that one).
   */
  async markArchived(taskId: string, archive: TaskArchive): Promise<{ task: TaskItem; applied: boolean }> {
    const expression = new Expression();
    const result = await conditionalWrite(() =>
      this.#deps.doc.send(
        new UpdateCommand({
          TableName: this.#deps.tables.tasks,
          Key: { taskId },
          UpdateExpression: expression.update({ set: { archive } }),
          ConditionExpression: `attribute_not_exists(${expression.name('archive')}) AND ${expression.oneOf('state', TERMINAL_TASK_STATES)}`,
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ...expression.attributes(),
        }),
      ),
    );
    if (result.ok) return { task: parseStored(TaskItem, result.value.Attributes, 'task'), applied: true };
    if (!result.current) throw new NotFoundError('task', taskId);
    return { task: parseStored(TaskItem, result.current, 'task'), applied: false };
  }

  /** Ends a task's archival: every exported item has its TTL; the task leaves the due index. */
  async finish(taskId: string, expiresAt: number): Promise<boolean> {
    const expression = new Expression();
    const result = await conditionalWrite(() =>
      this.#deps.doc.send(
        new UpdateCommand({
          TableName: this.#deps.tables.tasks,
          Key: { taskId },
          UpdateExpression: expression.update({
            set: { 'archive.expiresAt': expiresAt },
            remove: [TO_ARCHIVE.partitionKey.name],
          }),
          ConditionExpression: `attribute_exists(${expression.name('archive')})`,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ...expression.attributes(),
        }),
      ),
    );
    return result.ok;
  }

  /** A page of the task's jobs that have no TTL yet (their keys only). */
  async listJobsWithoutExpiry(taskId: string, page: PageRequest = {}): Promise<Page<string>> {
    const expression = new Expression();
    return queryPage(
      this.#deps.doc,
      {
        TableName: this.#deps.tables.jobs,
        IndexName: BY_TASK.indexName,
        KeyConditionExpression: `${expression.name(BY_TASK.partitionKey.name)} = ${expression.value(taskId)}`,
        FilterExpression: `attribute_not_exists(${expression.name(EXPIRY)})`,
        ProjectionExpression: expression.name('jobId'),
        ...expression.attributes(),
      },
      page,
      (item) => String(item.jobId),
    );
  }

  /** A page of a dataset's files that have no TTL yet (their names only). */
  async listFilesWithoutExpiry(datasetUid: string, page: PageRequest = {}): Promise<Page<string>> {
    const expression = new Expression();
    return queryPage(
      this.#deps.doc,
      {
        TableName: this.#deps.tables.files,
        KeyConditionExpression: `${expression.name('datasetUid')} = ${expression.value(datasetUid)}`,
        FilterExpression: `attribute_not_exists(${expression.name(EXPIRY)})`,
        ProjectionExpression: expression.name('name'),
        ...expression.attributes(),
      },
      page,
      (item) => String(item.name),
    );
  }

  /** Gives an exported job of `taskId` its TTL; false when the job is gone already. */
  async expireJob(taskId: string, jobId: string, expiresAt: number): Promise<boolean> {
    const expression = new Expression();
    const result = await conditionalWrite(() =>
      this.#deps.doc.send(
        new UpdateCommand({
          TableName: this.#deps.tables.jobs,
          Key: { jobId },
          UpdateExpression: expression.update({ set: { [EXPIRY]: expiresAt } }),
          ConditionExpression: `${expression.name('taskId')} = ${expression.value(taskId)}`,
          ReturnValuesOnConditionCheckFailure: 'NONE',
          ...expression.attributes(),
        }),
      ),
    );
    return result.ok;
  }

  /** Gives an exported file its TTL; false when the file is gone already. */
  async expireFile(datasetUid: string, name: string, expiresAt: number): Promise<boolean> {
    const expression = new Expression();
    const result = await conditionalWrite(() =>
      this.#deps.doc.send(
        new UpdateCommand({
          TableName: this.#deps.tables.files,
          Key: { datasetUid, name },
          UpdateExpression: expression.update({ set: { [EXPIRY]: expiresAt } }),
          ConditionExpression: `attribute_exists(${expression.name('name')})`,
          ReturnValuesOnConditionCheckFailure: 'NONE',
          ...expression.attributes(),
        }),
      ),
    );
    return result.ok;
  }
}
