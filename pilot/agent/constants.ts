/** Defaults and fixed limits of the pilot. Durations are in seconds unless the name says otherwise. */

declare const __PILOT_VERSION__: string | undefined;
/** Set by the release bundler; a pilot run from source reports `dev`. */
export const PILOT_VERSION: string = typeof __PILOT_VERSION__ === 'string' ? __PILOT_VERSION__ : 'dev';

export const DEFAULTS = {
  coresPerSlot: 1,
  heartbeatIntervalSeconds: 30,
  killGraceSeconds: 3,
  shutdownGraceSeconds: 30,
  /** No job runs longer than this, whatever its own limit. */
  wallTimeSeconds: 7 * 24 * 3600,
  pollWaitSeconds: 20,
  /** Objects at least this large are fetched with parallel ranged GETs. */
  rangedDownloadThresholdBytes: 64 * 1024 ** 2,
  rangedDownloadPartBytes: 16 * 1024 ** 2,
  downloadParallelism: 4,
  uploadPartBytes: 16 * 1024 ** 2,
  uploadParallelism: 4,
  /** Whether the store verifies `x-amz-checksum-sha256` (AWS S3, MinIO; not every Ceph RGW). */
  uploadChecksumHeader: true,
  /** The most of a payload's stdout and stderr its log keeps. */
  logCapBytes: 64 * 1024 ** 2,
  diskCheckIntervalSeconds: 1,
} as const;

/** S3's limits on a multipart upload: parts, part sizes and the object. */
export const S3_MULTIPART = {
  maxParts: 10_000,
  minPartBytes: 5 * 1024 ** 2,
  maxPartBytes: 5 * 1024 ** 3,
  maxObjectBytes: 5 * 1024 ** 4,
} as const;

/** SQS answers at most 10 messages per receive and takes at most 10 entries per batch. */
export const SQS_MAX_BATCH = 10;
/**
 * Jobs a pilot holds at once, per slot. A slot is given up when its payload ends, so the next
 * payload runs while the last one's outputs upload; this bounds the jobs still staging out,
 * so a slow store holds back intake instead of piling up finished jobs' work directories.
 */
export const JOBS_IN_HAND_PER_SLOT = 2;
/** A heartbeat lists at most this many jobs (the API's limit). */
export const HEARTBEAT_MAX_JOBS = 1024;
/** SQS long polls wait at most 20 s. */
export const SQS_MAX_WAIT_SECONDS = 20;
/**
 * A GPU pilot whose GPU queue came back empty looks at the CPU queue only briefly, so a GPU
 * job arriving meanwhile waits at most this long. A long poll of 1 s still asks every SQS
 * server, unlike a short poll.
 */
export const FALLBACK_POLL_WAIT_SECONDS = 1;

/** The status outbox sends what it holds this often, or at once when a batch is full. */
export const OUTBOX_FLUSH_MS = 250;
/** Job message deletes wait this long to share a DeleteMessageBatch; the message stays invisible meanwhile. */
export const DELETE_FLUSH_MS = 200;
/**
 * A progress report waits this long before it is queued: a job that ends sooner reports only
 * its result (which carries every phase time), and a long one shows its phase this much later.
 */
export const PROGRESS_HOLD_MS = 2_000;

/** Retry delays for an unreachable control plane or SQS: exponential with jitter, capped. */
export const RETRY_BACKOFF = { initialMs: 200, maxMs: 10_000, factor: 2 } as const;

/** How long `nvidia-smi` may take before the node is treated as having no GPU. */
export const GPU_DETECTION_TIMEOUT_MS = 10_000;

/** Files the pilot keeps in a job's work directory, beside the payload's `in/` and `out/`. */
export const JOB_DIRS = { input: 'in', output: 'out' } as const;
export const JOB_LOG_FILE = 'payload.log';

/** Suffix of a spooled result file; a file being written carries `.tmp` until renamed. */
export const SPOOL_SUFFIX = '.result.json';

/** JobResultMessage.errorMessage holds at most this many characters. */
export const ERROR_MESSAGE_MAX_LENGTH = 4096;

/** Exit statuses of the pilot process, for the daemon's log. */
export const PILOT_EXIT = { ok: 0, fatal: 1, usage: 2, lost: 3 } as const;
