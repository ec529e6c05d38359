import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { FileName, FileRecord } from '../model/index.js';
import {
  type BatchEntry,
  batchGet,
  parseStored,
  queryPage,
  rejectDuplicates,
  timestamp,
  writeBatch,
} from './dynamo.js';
import { Expression } from './expressions.js';
import {
  closedDatasetRefusal,
  datasetCounterUpdate,
  fileKey,
  filePut,
  fileRecordOf,
  type NewFile,
  type RegisterFilesResult,
  takenNameOutcome,
} from './file-writes.js';
import type { Page, PageRequest, RepositoryDeps, StoredItem } from './types.js';

/**
 * Files of datasets. Registering a file and adding it to its dataset's fileCount/totalBytes
 * happen in one transaction, and only while the dataset is OPEN.
 */
export class FilesRepo {
  readonly #deps: RepositoryDeps;

  constructor(deps: RepositoryDeps) {
    this.#deps = deps;
  }

  get #table(): string {
    return this.#deps.tables.files;
  }

  #parse(item: StoredItem): FileRecord {
    return parseStored(FileRecord, item, 'file');
  }

  async find(datasetUid: string, name: string): Promise<FileRecord | undefined> {
    const response = await this.#deps.doc.send(
      new GetCommand({ TableName: this.#table, Key: { datasetUid, name }, ConsistentRead: true }),
    );
    return response.Item ? this.#parse(response.Item) : undefined;
  }

  /** The registered files among `names` of one dataset (BatchGetItem), in no particular order. */
  async getMany(datasetUid: string, names: readonly string[]): Promise<FileRecord[]> {
    const keys = [...new Set(names)].map((name) => ({ datasetUid, name }));
    return (await batchGet(this.#deps.doc, this.#table, keys)).map((item) => this.#parse(item));
  }

  /** A dataset's files in name order. */
  async list(datasetUid: string, page: PageRequest = {}): Promise<Page<FileRecord>> {
    const expression = new Expression();
    return queryPage(
      this.#deps.doc,
      {
        TableName: this.#table,
        KeyConditionExpression: `${expression.name('datasetUid')} = ${expression.value(datasetUid)}`,
        ...expression.attributes(),
      },
      page,
      (item) => this.#parse(item),
    );
  }

  /**
   * A dataset's file names in name order: `list` with only the name read back, for the walks
   * over a whole dataset (its checklist), where the rest of each item is a cost and no use.
   */
  async listNames(datasetUid: string, page: PageRequest = {}): Promise<Page<string>> {
    const expression = new Expression();
    return queryPage(
      this.#deps.doc,
      {
        TableName: this.#table,
        KeyConditionExpression: `${expression.name('datasetUid')} = ${expression.value(datasetUid)}`,
        ProjectionExpression: expression.name('name'),
        ...expression.attributes(),
      },
      page,
      (item) => parseStored(FileName, item.name, 'file name'),
    );
  }

  /**
   * Registers one file. The same name with the same size and checksum again is a no-op
   * (`created: false`); different content under an existing name is an AlreadyExistsError; a
   * dataset that is missing or no longer OPEN refuses it (NotFoundError / StateConflictError).
   */
  async register(file: NewFile): Promise<{ file: FileRecord; created: boolean }> {
    const result = await this.registerMany([file]);
    const refused = result.refused[0];
    if (refused) throw refused.error;
    const created = result.created[0];
    if (created) return { file: created, created: true };
    const existing = result.existing[0];
    if (!existing) throw new Error('registration of one file gave no outcome');
    return { file: existing, created: false };
  }

  /**
   * Registers files of one or more datasets in as few transactions as possible (up to 100
   * items each: the files plus one counter update per dataset), each outcome reported per file.
   */
  async registerMany(files: readonly NewFile[]): Promise<RegisterFilesResult> {
    rejectDuplicates(files.map(fileKey), 'files');
    const now = timestamp(this.#deps.clock);
    const entries: BatchEntry<FileRecord>[] = files.map((file, index) => {
      const record = fileRecordOf(file, now, `file ${index}`);
      return { entry: record, counterKey: record.datasetUid, write: filePut(this.#table, record) };
    });
    const outcome = await writeBatch(this.#deps.doc, entries, (datasetUid, registered) =>
      datasetCounterUpdate(
        this.#deps.tables.datasets,
        datasetUid,
        registered.map((entry) => entry.entry),
      ),
    );
    const result: RegisterFilesResult = { created: outcome.written, existing: [], refused: [] };
    for (const { entry, refusedBy, refusal } of outcome.refused) {
      if (refusedBy === 'counter') {
        result.refused.push(closedDatasetRefusal(entry, refusal));
        continue;
      }
      const taken = takenNameOutcome(entry, refusal);
      if ('existing' in taken) result.existing.push(taken.existing);
      else result.refused.push(taken.refused);
    }
    return result;
  }
}
