/** The writes that register files and count them in their datasets, shared by FilesRepo and JobsRepo. */
import type { TransactWriteItem } from '@aws-sdk/lib-dynamodb';
import type { z } from 'zod';
import {
  AlreadyExistsError,
  type ConditionFailedError,
  NotFoundError,
  StateConflictError,
  ValidationError,
} from '../errors/index.js';
import { FileRecord } from '../model/index.js';
import { type ItemRefusal, parseStored } from './dynamo.js';
import { Expression } from './expressions.js';

/** A file to register; `registeredAt` defaults to now. */
export type NewFile = Omit<z.input<typeof FileRecord>, 'registeredAt'> & { registeredAt?: string };

export interface FileRefusal {
  file: FileRecord;
  error: ConditionFailedError;
  /** The registered file, when a different one holds the name. */
  current?: FileRecord;
}

export interface RegisterFilesResult {
  created: FileRecord[];
  /** Registered before with the same size and checksum: a repeated registration. */
  existing: FileRecord[];
  refused: FileRefusal[];
}

export function fileKey(file: { datasetUid: string; name: string }): string {
  return `${file.datasetUid}/${file.name}`;
}

export function fileRecordOf(file: NewFile, now: string, subject: string): FileRecord {
  const parsed = FileRecord.safeParse({ registeredAt: now, ...file });
  if (!parsed.success) throw ValidationError.fromZod(subject, parsed.error);
  return parsed.data;
}

/** Puts the file only if its name is free in the dataset. */
export function filePut(tableName: string, file: FileRecord): TransactWriteItem {
  const expression = new Expression();
  return {
    Put: {
      TableName: tableName,
      Item: file,
      ConditionExpression: `attribute_not_exists(${expression.name('name')})`,
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      ...expression.attributes(),
    },
  };
}

/** Adds `files` to the dataset's fileCount and totalBytes, only while it is OPEN. */
export function datasetCounterUpdate(
  tableName: string,
  datasetUid: string,
  files: readonly FileRecord[],
): TransactWriteItem {
  const expression = new Expression();
  return {
    Update: {
      TableName: tableName,
      Key: { uid: datasetUid },
      UpdateExpression: expression.update({
        add: { fileCount: files.length, totalBytes: files.reduce((sum, file) => sum + file.size, 0) },
      }),
      ConditionExpression: `${expression.name('state')} = ${expression.value('OPEN')}`,
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      ...expression.attributes(),
    },
  };
}

/**
 * A file refused by its own condition: the name is taken. The same size and checksum make it
 * a repeated registration; anything else is a conflict.
 */
export function takenNameOutcome(
  file: FileRecord,
  refusal: ItemRefusal,
): { existing: FileRecord } | { refused: FileRefusal } {
  const current = parseStored(FileRecord, refusal.item ?? {}, 'file');
  if (current.size === file.size && current.checksum === file.checksum) return { existing: current };
  return { refused: { file, error: new AlreadyExistsError('file', fileKey(file)), current } };
}

/** A file refused because its dataset is missing or no longer OPEN. */
export function closedDatasetRefusal(file: FileRecord, refusal: ItemRefusal): FileRefusal {
  const error = refusal.item
    ? new StateConflictError('dataset', file.datasetUid, ['OPEN'])
    : new NotFoundError('dataset', file.datasetUid);
  return { file, error };
}
