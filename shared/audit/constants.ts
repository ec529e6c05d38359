/** The consistency invariants of design §9, one name each. */
export const INVARIANTS = [
  /** A task's per-state counters and jobsTotal equal the count of its jobs. */
  'task-counters',
  /** Every DONE job's outputs are registered in its output dataset, and its log in its log dataset. */
  'done-job-files-registered',
  /** Every registered output or log exists in storage with its recorded size (and checksum). */
  'registered-file-stored',
  /** No job is RUNNING without a live (ACTIVE or IDLE) pilot. */
  'running-job-has-live-pilot',
  /** A closed dataset's files are its checklist. */
  'closed-dataset-matches-checklist',
] as const;

/** Dataset states after the close: the file set is frozen. */
export const CLOSED_DATASET_STATES = ['CLOSED', 'TO_UPLOAD', 'TO_DELETE'] as const;

/** The checksum prefix the WMS records for SHA-256, comparable with what S3 returns. */
export const SHA256_PREFIX = 'sha256:';
