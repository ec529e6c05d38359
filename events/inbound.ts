/** `detail` payloads of the events the WMS consumes from the DSM, the WfMS and operators. */
import { z } from 'zod';
import {
  Checksum,
  DatasetName,
  FileName,
  Identifier,
  Rank,
  SizeBytes,
  TaskSpec,
} from '../shared/model/index.js';
import { Checklist, ChecklistObjectReference, Reason, S3Url } from './fields.js';

/**
 * A file the DSM announces. The DSM speaks URLs: `url` is parsed into `location`, so a
 * consumer receives the same `{ name, location, size, checksum }` shape as a FileRef.
 */
export const InputFileAnnouncement = z
  .object({ name: FileName, url: S3Url, size: SizeBytes, checksum: Checksum })
  .strict()
  .transform(({ url, ...file }) => ({ ...file, location: url }));

/** `file.input` (DSM): a new file arrived in an input dataset. */
export const FileInputDetail = z
  .object({ datasetUid: Identifier, datasetName: DatasetName, file: InputFileAnnouncement })
  .strict();
export type FileInputDetail = z.output<typeof FileInputDetail>;

/**
 * `dataset.close`: the dataset holds exactly the files of its checklist, carried inline in
 * `files` or, for a dataset too large for one event, stored as an object that
 * `checklistObject` refers to (exactly one of the two). The DSM sends it for input datasets;
 * the WMS sends the same message for the output and log datasets it fills, so a downstream
 * task of a workflow starts through the DSM's contract.
 */
export const DatasetCloseDetail = z
  .object({
    datasetUid: Identifier,
    datasetName: DatasetName.optional(),
    files: Checklist.optional(),
    checklistObject: ChecklistObjectReference.optional(),
  })
  .strict()
  .superRefine((detail, ctx) => {
    if (detail.files !== undefined && detail.checklistObject !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['checklistObject'],
        message: 'give the checklist either inline (files) or as an object (checklistObject), not both',
      });
    if (detail.files === undefined && detail.checklistObject === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['files'],
        message: 'required: the checklist inline, or checklistObject referring to it',
      });
  })
  .transform(
    ({ files, checklistObject, ...target }): DatasetCloseForm =>
      checklistObject === undefined ? { ...target, files: files ?? [] } : { ...target, checklistObject },
  )
  .meta({ oneOf: [{ required: ['files'] }, { required: ['checklistObject'] }] });

/** A parsed dataset.close: its checklist inline or as an object reference, never both. */
type DatasetCloseForm = { datasetUid: string; datasetName?: string } & (
  | { files: string[] }
  | { checklistObject: z.output<typeof ChecklistObjectReference> }
);
export type DatasetCloseDetail = z.output<typeof DatasetCloseDetail>;

/** `dataset.upload` (DSM): the dataset is to be uploaded to external storage. */
export const DatasetUploadDetail = z.object({ datasetUid: Identifier }).strict();
export type DatasetUploadDetail = z.output<typeof DatasetUploadDetail>;

/** `dataset.delete` (DSM): the dataset is to be deleted from internal storage. */
export const DatasetDeleteDetail = z.object({ datasetUid: Identifier }).strict();
export type DatasetDeleteDetail = z.output<typeof DatasetDeleteDetail>;

/** `task.submitted` (WfMS): a task; the WfMS chooses `taskId`, so a redelivery is a no-op. */
export const TaskSubmittedDetail = TaskSpec.extend({ taskId: Identifier }).strict();
export type TaskSubmittedDetail = z.output<typeof TaskSubmittedDetail>;

/** `task.cancel` (WfMS or an operator). */
export const TaskCancelDetail = z.object({ taskId: Identifier, reason: Reason }).strict();
export type TaskCancelDetail = z.output<typeof TaskCancelDetail>;

/** `task.priority` (WfMS or an operator): the task's new base rank. */
export const TaskPriorityDetail = z.object({ taskId: Identifier, rank: Rank }).strict();
export type TaskPriorityDetail = z.output<typeof TaskPriorityDetail>;
