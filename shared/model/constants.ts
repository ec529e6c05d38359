export const TASK_STATES = ['REGISTERED', 'RUNNING', 'HELD', 'DONE', 'FAILED', 'CANCELLED'] as const;
export const JOB_STATES = ['READY', 'QUEUED', 'RUNNING', 'DONE', 'FAILED', 'CANCELLED', 'LOST'] as const;
/** Sub-phases a pilot reports while a job is RUNNING. */
export const JOB_PHASES = ['CLAIMED', 'STAGE_IN', 'EXECUTING', 'STAGE_OUT'] as const;
export const PILOT_STATES = ['ACTIVE', 'IDLE', 'EXITED', 'LOST'] as const;
export const DATASET_STATES = ['OPEN', 'CLOSED', 'TO_UPLOAD', 'TO_DELETE'] as const;
export const DATASET_KINDS = ['input', 'output', 'log'] as const;
export const FILE_KINDS = ['input', 'output', 'log'] as const;
export const DEVICES = ['CPU', 'GPU'] as const;
export const JOB_MODES = ['map', 'merge'] as const;

/** Upper bound of a task rank (priority); ranks are integers 1..RANK_MAX. */
export const RANK_MAX = 100;
/** Bounds on what a single message may carry, so a bad producer cannot blow up a consumer. */
export const LIMITS = {
  fileNameLength: 255,
  objectKeyLength: 1024,
  argsCount: 256,
  argLength: 4096,
  filesPerJob: 100,
  checklistFiles: 100_000,
  maxRetries: 20,
  fileSizeBytes: 64 * 1024 ** 4,
  outputsPerJob: 100,
} as const;
