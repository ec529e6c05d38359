/**
 * Application services: the commands the REST API and the event consumers share, each a
 * plain function of its dependencies (repositories, clients, logger, clock).
 */

export {
  type ArchivalDeps,
  type ArchivalReport,
  type ArchivalSettings,
  exportTask,
  runArchival,
} from './archival.js';
export { ARCHIVE_PART_BYTES, type ArchiveStore, ArchiveWriter, scanTaskArchive } from './archive-store.js';
export {
  archivedFiles,
  archivedFilesPage,
  archivedJob,
  archivedJobs,
  archivedJobsPage,
} from './archived-reads.js';
export * from './audit.js';
export * from './checklist-objects.js';
export * from './completion.js';
export * from './dataset-locations.js';
export * from './datasets.js';
export * from './dispatch.js';
export {
  ANALYSIS_MAX_JOBS,
  type ExplainServiceDeps,
  explainJob,
  explainTask,
  type TaskAnalysisResult,
} from './explain.js';
export * from './generation.js';
export { JobGenerationMessage, sendJobGenerationMessage } from './job-generation-message.js';
export * from './operator.js';
export {
  claimJob,
  controlQueueName,
  type PilotServiceDeps,
  recordHeartbeat,
  registerPilot,
} from './pilots.js';
export * from './ready-jobs.js';
export * from './results.js';
export * from './task-specs.js';
export {
  type CancelTaskOptions,
  type CancelTaskResult,
  cancelContinuationEntry,
  cancelTask,
  DatasetInUseError,
  KillDeliveryError,
  type RegisterTaskResult,
  registerTask,
  type SetTaskRankResult,
  setTaskRank,
  specDifferences,
  type TaskServiceDeps,
  TaskSpecConflictError,
} from './tasks.js';
export * from './watchdog.js';
