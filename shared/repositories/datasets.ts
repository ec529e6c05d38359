import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  AlreadyExistsError,
  ConditionFailedError,
  NotFoundError,
  StateConflictError,
  ValidationError,
} from '../errors/index.js';
import { type DatasetKind, DatasetRecord, type DatasetState } from '../model/index.js';
import { assertTransition } from '../states/index.js';
import { conditionalWrite, parseStored, timestamp } from './dynamo.js';
import { Expression } from './expressions.js';
import { DATASETS_TABLE } from './tables.js';
import type { RepositoryDeps, StoredItem } from './types.js';

const [BY_NAME] = DATASETS_TABLE.globalIndexes;

export interface NewDataset {
  uid: string;
  name: string;
  kind: DatasetKind;
  producerTaskId?: string;
}

export interface CreateDatasetResult {
  dataset: DatasetRecord;
  /** False when the same dataset existed already; `dataset` is then the stored one. */
  created: boolean;
}

/** The dataset after a change, and whether this call made it (false: it was already made). */
export interface DatasetChange {
  dataset: DatasetRecord;
  applied: boolean;
}

/**
 * Datasets. The file count and size are moved only by FilesRepo, in the transaction that
 * registers each file; state changes are guarded by the expected state.
 */
export class DatasetsRepo {
  readonly #deps: RepositoryDeps;

  constructor(deps: RepositoryDeps) {
    this.#deps = deps;
  }

  get #table(): string {
    return this.#deps.tables.datasets;
  }

  #parse(item: StoredItem): DatasetRecord {
    return parseStored(DatasetRecord, item, 'dataset');
  }

  async find(uid: string): Promise<DatasetRecord | undefined> {
    const response = await this.#deps.doc.send(
      new GetCommand({ TableName: this.#table, Key: { uid }, ConsistentRead: true }),
    );
    return response.Item ? this.#parse(response.Item) : undefined;
  }

  async get(uid: string): Promise<DatasetRecord> {
    const dataset = await this.find(uid);
    if (!dataset) throw new NotFoundError('dataset', uid);
    return dataset;
  }

  /**
   * The dataset with this name. Names are unique by construction (WMS datasets take
   * `datasetUidFor(name)` as uid); two datasets sharing a name is reported, not guessed at.
   */
  async findByName(name: string): Promise<DatasetRecord | undefined> {
    const expression = new Expression();
    const response = await this.#deps.doc.send(
      new QueryCommand({
        TableName: this.#table,
        IndexName: BY_NAME.indexName,
        KeyConditionExpression: `${expression.name(BY_NAME.partitionKey.name)} = ${expression.value(name)}`,
        Limit: 2,
        ...expression.attributes(),
      }),
    );
    const items = response.Items ?? [];
    if (items.length > 1) {
      throw new ConditionFailedError(
        'dataset',
        name,
        `dataset name ${name} is used by more than one dataset`,
      );
    }
    return items[0] ? this.#parse(items[0]) : undefined;
  }

  async getByName(name: string): Promise<DatasetRecord> {
    const dataset = await this.findByName(name);
    if (!dataset) throw new NotFoundError('dataset', name);
    return dataset;
  }

  /**
   * Creates an OPEN, empty dataset. Creating it again with the same name and kind returns the
   * stored one; the same uid with another name or kind is an AlreadyExistsError.
   */
  async create(dataset: NewDataset): Promise<CreateDatasetResult> {
    const now = timestamp(this.#deps.clock);
    const record = DatasetRecord.safeParse({
      ...dataset,
      state: 'OPEN',
      fileCount: 0,
      totalBytes: 0,
      createdAt: now,
      version: 0,
    });
    if (!record.success) throw ValidationError.fromZod('dataset', record.error);
    const expression = new Expression();
    const result = await conditionalWrite(() =>
      this.#deps.doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: record.data,
          ConditionExpression: `attribute_not_exists(${expression.name('uid')})`,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ...expression.attributes(),
        }),
      ),
    );
    if (result.ok) return { dataset: record.data, created: true };
    if (!result.current) throw new NotFoundError('dataset', dataset.uid);
    const existing = this.#parse(result.current);
    if (existing.name !== dataset.name || existing.kind !== dataset.kind) {
      throw new AlreadyExistsError('dataset', dataset.uid);
    }
    return { dataset: existing, created: false };
  }

  /**
   * OPEN → CLOSED. With `expectedFileCount`, closes only if exactly that many files are
   * registered (the checklist length), atomically with respect to concurrent registrations.
   */
  async close(uid: string, options: { expectedFileCount?: number } = {}): Promise<DatasetChange> {
    return this.transition(uid, 'OPEN', 'CLOSED', options.expectedFileCount);
  }

  /** CLOSED → TO_UPLOAD. */
  async markToUpload(uid: string): Promise<DatasetChange> {
    return this.transition(uid, 'CLOSED', 'TO_UPLOAD');
  }

  /** CLOSED|TO_UPLOAD → TO_DELETE. */
  async markToDelete(uid: string, from: 'CLOSED' | 'TO_UPLOAD'): Promise<DatasetChange> {
    return this.transition(uid, from, 'TO_DELETE');
  }

  /** from → to, guarded by the state; a dataset already in `to` is returned unchanged. */
  async transition(
    uid: string,
    from: DatasetState,
    to: DatasetState,
    expectedFileCount?: number,
  ): Promise<DatasetChange> {
    assertTransition('dataset', from, to);
    const expression = new Expression();
    const conditions = [`${expression.name('state')} = ${expression.value(from)}`];
    if (expectedFileCount !== undefined) {
      conditions.push(`${expression.name('fileCount')} = ${expression.value(expectedFileCount)}`);
    }
    const now = timestamp(this.#deps.clock);
    const result = await conditionalWrite(() =>
      this.#deps.doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { uid },
          UpdateExpression: expression.update({
            set: { state: to, closedAt: to === 'CLOSED' ? now : undefined },
            add: { version: 1 },
          }),
          ConditionExpression: conditions.join(' AND '),
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ...expression.attributes(),
        }),
      ),
    );
    if (result.ok) return { dataset: this.#parse(result.value.Attributes ?? {}), applied: true };
    if (!result.current) throw new NotFoundError('dataset', uid);
    const current = this.#parse(result.current);
    if (current.state === to) {
      return { dataset: current, applied: false };
    }
    // Still in `from`: only the file count can have refused it.
    if (current.state === from) {
      throw new ConditionFailedError(
        'dataset',
        uid,
        `dataset ${uid} has ${current.fileCount} files registered, not ${expectedFileCount}`,
      );
    }
    throw new StateConflictError('dataset', uid, [from]);
  }
}
