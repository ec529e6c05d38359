import { z } from 'zod';
import { FileRecord, Identifier, JobRecord, TaskArchive } from '../model/index.js';
import { ARCHIVE_FORMAT } from './constants.js';

/** What a task item records of its export (`archive`): TaskArchive of shared/model. */
export const ArchiveSummary = TaskArchive;
export type ArchiveSummary = TaskArchive;

/** One line of an export: its header first, then the task's jobs, then its files. */
export const ArchiveLine = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('header'), format: z.literal(ARCHIVE_FORMAT), taskId: Identifier }).strict(),
  z.object({ kind: z.literal('job'), job: JobRecord }).strict(),
  z.object({ kind: z.literal('file'), file: FileRecord }).strict(),
]);
export type ArchiveLine = z.infer<typeof ArchiveLine>;
