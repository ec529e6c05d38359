/** The consistency audit of design §9 over a snapshot of tasks, jobs, datasets, files, objects and pilots. */
export { auditSnapshot, countJobs, objectId } from './audit.js';
export { CLOSED_DATASET_STATES, INVARIANTS, SHA256_PREFIX } from './constants.js';
export type {
  AuditEntity,
  AuditFinding,
  AuditRepair,
  AuditSnapshot,
  DatasetSnapshot,
  Invariant,
  StoredObject,
  TaskSnapshot,
} from './types.js';
