export const TASK_STATES = ['REGISTERED', 'RUNNING', 'HELD', 'DONE', 'FAILED', 'CANCELLED'] as const;
export const JOB_STATES = ['READY', 'QUEUED', 'RUNNING', 'DONE', 'FAILED', 'CANCELLED', 'LOST'] as const;
/** Sub-phases a pilot reports while a job is RUNNING. */
export const JOB_PHASES = ['CLAIMED', 'STAGE_IN', 'EXECUTING', 'STAGE_OUT'] as const;
export const PILOT_STATES = ['ACTIVE', 'IDLE', 'EXITED', 'LOST'] as const;
export const DATASET_STATES = ['OPEN', 'CLOSED', 'TO_UPLOAD', 'TO_DELETE'] as const;
export const DATASET_KINDS = ['input', 'output', 'log'] as const;
export const FILE_KINDS = ['input', 'output', 'log'] as const;
export const DEVICES = ['CPU', 'GPU'] as const;
/**
 * What a pilot cannot do to isolate its payloads on its node: run them as a user of their own,
 * track and kill them through a cgroup, limit their memory.
 */
export const DEGRADED_CAPABILITIES = ['same-user-payloads', 'no-cgroups', 'no-memory-limit'] as const;
export const JOB_MODES = ['map', 'merge'] as const;

/** Upper bound of a task rank (priority); ranks are integers 1..RANK_MAX. */
export const RANK_MAX = 100;
/**
 * Top-level key prefixes of the data bucket. The DSM stores its input datasets under `inputs`
 * (`datasets/<name>/<file>`); the WMS keeps the datasets it writes, job outputs and logs, under
 * `wmsDatasets` (`outputs/<name>/<file>`). Two prefixes let IAM give pilots write access to the
 * WMS's datasets only, leaving the inputs read-only. Readers never build keys: a file record
 * carries its location, so an output of one task read as another's input is found wherever it is.
 */
export const STORAGE_KEY_PREFIXES = {
  inputs: 'datasets',
  wmsDatasets: 'outputs',
  checklists: 'checklists',
  archive: 'archive',
} as const;
/** The value of a finished task's `archivePending` while it awaits archival. */
export const ARCHIVE_PENDING = 'PENDING';
/** Bounds on what a single message may carry, so a bad producer cannot blow up a consumer. */
export const LIMITS = {
  fileNameLength: 255,
  objectKeyLength: 1024,
  argsCount: 256,
  argLength: 4096,
  filesPerJob: 100,
  checklistFiles: 100_000,
  /** Names a checklist object may list: a day of SPD (up to 1.7 M files), with room. */
  checklistObjectFiles: 10_000_000,
  maxRetries: 20,
  fileSizeBytes: 64 * 1024 ** 4,
  outputsPerJob: 100,
  /** Counter shards of one task: its item and all of them fit one transaction and one BatchGetItem. */
  counterShards: 64,
} as const;
