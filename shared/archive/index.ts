/**
 * Archival of finished tasks: the line format of a task's export, its running digest, the
 * verified reading back, and the pure decisions (which task is due, when its items expire).
 */
export { ARCHIVE_FORMAT } from './constants.js';
export { ArchiveCorruptError, TaskArchivedError } from './errors.js';
export {
  ArchiveDigest,
  archiveKey,
  encodeLine,
  expiresAtOf,
  fileLine,
  headerLine,
  isDueForArchive,
  isSettled,
  jobLine,
  parseLine,
  summaryMismatch,
} from './format.js';
export { type ArchiveEntry, scanArchive } from './reader.js';
export { ArchiveLine, ArchiveSummary } from './schemas.js';
