/** Failure categories of the error registry (design §5). */
export const ERROR_CATEGORIES = [
  'stage-in',
  'payload',
  'stage-out',
  'pilot',
  'lost',
  'killed',
  'validation',
] as const;

type Category = (typeof ERROR_CATEGORIES)[number];

interface EntryDefinition {
  readonly code: number;
  readonly message: string;
  readonly retryable: boolean;
  readonly category: Category | null;
}

// The key is the entry's name, so a name can never disagree with its key.
function named<const T extends Record<string, EntryDefinition>>(
  definitions: T,
): { readonly [K in keyof T]: T[K] & { readonly name: K } } {
  return Object.freeze(
    Object.fromEntries(
      Object.entries(definitions).map(([name, entry]) => [name, Object.freeze({ ...entry, name })]),
    ),
  ) as { readonly [K in keyof T]: T[K] & { readonly name: K } };
}

/**
 * The error-code registry shared by the pilot and the control plane. Codes are grouped by
 * category in blocks of a hundred (stage-in 11xx, payload 12xx, stage-out 13xx, pilot 14xx,
 * lost 15xx, killed 16xx, validation 17xx); a code, once published, never changes meaning.
 */
export const ERRORS = named({
  OK: { code: 0, message: 'finished successfully', retryable: false, category: null },

  STAGE_IN_INPUT_NOT_FOUND: {
    code: 1101,
    message: 'input file not found in storage',
    retryable: false,
    category: 'stage-in',
  },
  STAGE_IN_CHECKSUM_MISMATCH: {
    code: 1102,
    message: 'downloaded input file does not match its registered checksum',
    retryable: true,
    category: 'stage-in',
  },
  STAGE_IN_DOWNLOAD_FAILED: {
    code: 1103,
    message: 'input file download failed',
    retryable: true,
    category: 'stage-in',
  },
  STAGE_IN_SIZE_MISMATCH: {
    code: 1104,
    message: 'downloaded input file does not have its registered size',
    retryable: true,
    category: 'stage-in',
  },

  PAYLOAD_NONZERO_EXIT: {
    code: 1201,
    message: 'payload exited with a non-zero status',
    retryable: true,
    category: 'payload',
  },
  PAYLOAD_EXECUTABLE_NOT_FOUND: {
    code: 1202,
    message: 'payload executable not found',
    retryable: false,
    category: 'payload',
  },
  PAYLOAD_NOT_EXECUTABLE: {
    code: 1203,
    message: 'payload executable is not executable (permission denied)',
    retryable: false,
    category: 'payload',
  },
  PAYLOAD_WALLTIME_EXCEEDED: {
    code: 1204,
    message: 'payload exceeded its wall-time limit and was killed',
    retryable: false,
    category: 'payload',
  },
  PAYLOAD_CRASHED: {
    code: 1205,
    message: 'payload crashed (segmentation fault, bus error, abort or similar signal)',
    retryable: true,
    category: 'payload',
  },
  PAYLOAD_KILLED_BY_SIGNAL: {
    code: 1206,
    message: 'payload was killed by a signal the pilot did not send (e.g. the out-of-memory killer)',
    retryable: true,
    category: 'payload',
  },
  PAYLOAD_OUTPUT_MISSING: {
    code: 1207,
    message: 'payload finished but produced no output file',
    retryable: false,
    category: 'payload',
  },
  PAYLOAD_SPAWN_FAILED: {
    code: 1208,
    message: 'payload process could not be started',
    retryable: true,
    category: 'payload',
  },

  // Limits and isolation of payloads (pilot/agent/cgroups.ts, payload.ts, job.ts).
  PAYLOAD_MEMORY_LIMIT: {
    code: 1221,
    message: 'payload exceeded its memory limit and was killed by the out-of-memory killer of its cgroup',
    retryable: false,
    category: 'payload',
  },
  PAYLOAD_DISK_QUOTA: {
    code: 1222,
    message: 'payload used more disk in its work directory than the per-job quota and was killed',
    retryable: false,
    category: 'payload',
  },
  PAYLOAD_LOG_TRUNCATED: {
    code: 1223,
    message:
      'payload wrote more to stdout and stderr than the log cap; the rest was dropped (a notice in the log, the job is not failed for it)',
    retryable: false,
    category: 'payload',
  },
  PAYLOAD_OUTPUT_SYMLINK: {
    code: 1224,
    message:
      'payload left a symbolic link (or no directory) where its output directory or an output file must be',
    retryable: false,
    category: 'payload',
  },
  PAYLOAD_OUTPUT_TOO_LARGE: {
    code: 1225,
    message: 'payload wrote an output file larger than the 5 TiB an S3 object can hold',
    retryable: false,
    category: 'payload',
  },

  STAGE_OUT_UPLOAD_FAILED: {
    code: 1301,
    message: 'output file upload failed',
    retryable: true,
    category: 'stage-out',
  },
  STAGE_OUT_CHECKSUM_MISMATCH: {
    code: 1302,
    message: 'uploaded output file does not match its local checksum',
    retryable: true,
    category: 'stage-out',
  },
  STAGE_OUT_INVALID_OUTPUT: {
    code: 1303,
    message: 'payload produced an output file with an invalid name, or too many outputs',
    retryable: false,
    category: 'stage-out',
  },
  STAGE_OUT_NAME_CONFLICT: {
    code: 1304,
    message: 'an output file name is already registered in its dataset with other content',
    retryable: false,
    category: 'stage-out',
  },

  // A result naming a file outside its job's output or log dataset: the pilot's fault (a bug,
  // or a node not to be trusted), not the job's, so another attempt, likely on another pilot,
  // may succeed; the task's retry limit bounds a pilot that keeps doing it.
  STAGE_OUT_LOCATION_REFUSED: {
    code: 1305,
    message: "an output or log is not at its job's place in the data bucket; nothing was registered",
    retryable: true,
    category: 'stage-out',
  },

  PILOT_SHUTDOWN: {
    code: 1401,
    message: 'pilot shut down and returned the job',
    retryable: true,
    category: 'pilot',
  },
  PILOT_CLAIM_REFUSED: {
    code: 1402,
    message: 'claim refused: the job was already claimed, cancelled or has moved to another attempt',
    retryable: false,
    category: 'pilot',
  },
  PILOT_SPOOL_FAILURE: {
    code: 1403,
    message: 'pilot could not keep the job result in its local spool',
    retryable: true,
    category: 'pilot',
  },
  PILOT_NO_DISK_SPACE: {
    code: 1404,
    message: 'not enough free disk space on the pilot node for the job',
    retryable: true,
    category: 'pilot',
  },
  PILOT_INTERNAL_ERROR: {
    code: 1405,
    message: 'unexpected pilot error while running the job',
    retryable: true,
    category: 'pilot',
  },

  LOST_HEARTBEAT: {
    code: 1501,
    message: 'pilot heartbeat lost while the job was claimed or running',
    retryable: true,
    category: 'lost',
  },
  LOST_PILOT_EXITED: {
    code: 1502,
    message: 'pilot exited without reporting the job result',
    retryable: true,
    category: 'lost',
  },
  LOST_UNREPORTED: {
    code: 1503,
    message: 'the pilot stopped reporting the job without its result arriving',
    retryable: true,
    category: 'lost',
  },

  KILLED_CANCELLED: {
    code: 1601,
    message: 'job cancelled by a user or an operator',
    retryable: false,
    category: 'killed',
  },

  VALIDATION_BAD_JOB_MESSAGE: {
    code: 1701,
    message: 'job message failed validation',
    retryable: false,
    category: 'validation',
  },
  VALIDATION_INVALID_FILE_NAME: {
    code: 1702,
    message: 'file name is invalid or escapes the working directory (absolute path or traversal)',
    retryable: false,
    category: 'validation',
  },
});

/** Signals that mean the payload itself crashed, as opposed to being killed from outside. */
export const CRASH_SIGNALS: readonly string[] = [
  'SIGSEGV',
  'SIGBUS',
  'SIGILL',
  'SIGFPE',
  'SIGABRT',
  'SIGSYS',
  'SIGTRAP',
];

/** Exit status a shell or exec wrapper uses for "command not found" and "not executable". */
export const EXIT_COMMAND_NOT_FOUND = 127;
export const EXIT_NOT_EXECUTABLE = 126;
/** A wrapped child killed by signal N is reported by its wrapper as exit status 128 + N. */
export const EXIT_SIGNAL_BASE = 128;
