/** `detail` payloads of the events the WMS emits (besides `dataset.close`, see inbound.ts). */
import { z } from 'zod';
import {
  DatasetName,
  FileKindSchema,
  FileRef,
  Identifier,
  JobCounts,
  TaskStateSchema,
  Timestamp,
} from '../shared/model/index.js';

/** `task.status-changed`: a task moved from one state to another. */
export const TaskStatusChangedDetail = z
  .object({
    taskId: Identifier,
    name: Identifier,
    from: TaskStateSchema,
    to: TaskStateSchema,
    counts: JobCounts.strict(),
    at: Timestamp,
  })
  .strict()
  .refine((change) => change.from !== change.to, { message: 'must differ from "from"', path: ['to'] });
export type TaskStatusChangedDetail = z.output<typeof TaskStatusChangedDetail>;

/** `file.registered`: a job's output or log file is now part of its dataset. */
export const FileRegisteredDetail = z
  .object({
    datasetUid: Identifier,
    datasetName: DatasetName,
    kind: FileKindSchema.exclude(['input']),
    file: FileRef,
    jobId: Identifier,
    taskId: Identifier,
    at: Timestamp,
  })
  .strict();
export type FileRegisteredDetail = z.output<typeof FileRegisteredDetail>;
