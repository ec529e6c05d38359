/**
 * DynamoDB repositories of tasks, jobs, files, datasets, pilots and control items, and the
 * table specs they (and the stack) are built from.
 */
import { ArchiveRepo } from './archive.js';
import { ControlRepo } from './control.js';
import { DatasetsRepo } from './datasets.js';
import { FilesRepo } from './files.js';
import { JobsRepo } from './jobs.js';
import { PilotsRepo } from './pilots.js';
import { TasksRepo } from './tasks.js';
import type { RepositoryDeps } from './types.js';

export { ArchiveRepo } from './archive.js';
export { TRANSACTION_ITEM_LIMIT } from './constants.js';
export { ControlRepo, type Versioned } from './control.js';
export { type CreateDatasetResult, type DatasetChange, DatasetsRepo, type NewDataset } from './datasets.js';
export { listAllPages } from './dynamo.js';
export type { FileRefusal, NewFile, RegisterFilesResult } from './file-writes.js';
export { FilesRepo } from './files.js';
export type { AttemptEnd, FailureDetails } from './job-attempt-ends.js';
export type { JobClaim } from './job-dispatch.js';
export type { FailureRequest, RetryRequest } from './job-ends.js';
export type { CreateJobsResult, JobTaskContext, NewJob } from './job-generation.js';
export type {
  CompleteRequest,
  CompleteWithOutputsRequest,
  CompleteWithOutputsResult,
  EndAttemptRequest,
  EndAttemptResult,
  PhaseUpdate,
  PilotReportRef,
} from './job-results.js';
export type { LostJobRef } from './job-watchdog.js';
export { JobsRepo } from './jobs.js';
export { type ItemAction, REPOSITORY_OPERATIONS, type TableOperation } from './operations.js';
export {
  type PilotChange,
  type PilotHeartbeatInput,
  type PilotRegistrationInput,
  PilotsRepo,
  type PilotTransition,
} from './pilots.js';
export {
  ARCHIVE_EXPIRY_ATTRIBUTE,
  type AttributeType,
  CONTROL_TABLE,
  createTableInput,
  DATASETS_TABLE,
  FILES_TABLE,
  type GlobalIndexSpec,
  JOBS_TABLE,
  type KeyAttribute,
  keyAttributes,
  PILOTS_TABLE,
  type Projection,
  type StreamViewType,
  TABLE_SPECS,
  TASKS_TABLE,
  type TableKey,
  type TableNames,
  type TableSpec,
  tableNamesFromConfig,
} from './tables.js';
export {
  type CreateTaskResult,
  type JobRecount,
  type RankChange,
  type TaskChange,
  TasksRepo,
  type TaskTransition,
} from './tasks.js';
export type {
  JobBatchResult,
  JobRef,
  JobRefusal,
  JobStateRef,
  JobSummary,
  Page,
  PageRequest,
  RepositoryDeps,
} from './types.js';

export interface Repositories {
  tasks: TasksRepo;
  jobs: JobsRepo;
  files: FilesRepo;
  datasets: DatasetsRepo;
  pilots: PilotsRepo;
  control: ControlRepo;
  archive: ArchiveRepo;
}

/** Every repository over the same client, tables and clock. */
export function createRepositories(deps: RepositoryDeps): Repositories {
  return {
    tasks: new TasksRepo(deps),
    jobs: new JobsRepo(deps),
    files: new FilesRepo(deps),
    datasets: new DatasetsRepo(deps),
    pilots: new PilotsRepo(deps),
    control: new ControlRepo(deps),
    archive: new ArchiveRepo(deps),
  };
}
