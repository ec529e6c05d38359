/**
 * Named configuration pieces. A function composes its own schema from them, e.g.
 * `z.object({ ...TablesConfig.shape, ...EventBusConfig.shape })`, and reads it with loadConfig.
 * Resource names and URLs have no defaults; tunables have the documented ones.
 */
import { z } from 'zod';
import { DEFAULT_COUNTER_SHARDS, MAX_COUNTER_SHARDS } from '../counters/index.js';
import { BucketName } from '../model/index.js';
import {
  DEFAULT_AGING_UNIT_SECONDS,
  DEFAULT_RANK_ALPHA,
  DEFAULT_RANK_BETA,
  DEFAULT_RANK_GAMMA,
  type RankParamsInput,
} from '../rank/index.js';
import {
  DEFAULT_RETRY_BASE_SECONDS,
  DEFAULT_RETRY_MAX_SECONDS,
  type RetryPolicyInput,
} from '../retry/index.js';

/** The name of a provisioned resource (table, bus): no default, no whitespace. */
export const ResourceName = z.string().regex(/^[^\s]+$/, 'must be a resource name without whitespace');

export const QueueUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) queue URL' });

/** An integer tunable given as decimal digits, with bounds and a default. */
export function integer(options: { default: number; min: number; max: number }) {
  return z
    .string()
    .regex(/^-?\d+$/, 'must be an integer')
    .transform(Number)
    .pipe(z.number().int().min(options.min).max(options.max))
    .default(options.default);
}

/** A decimal tunable (e.g. a rank weight), with bounds and a default. */
export function decimal(options: { default: number; min: number; max: number }) {
  return z
    .string()
    .regex(/^-?(\d+\.?\d*|\.\d+)$/, 'must be a decimal number')
    .transform(Number)
    .pipe(z.number().min(options.min).max(options.max))
    .default(options.default);
}

/** A boolean switch written exactly `true` or `false`. */
export function flag(defaultValue: boolean) {
  return z
    .enum(['true', 'false'], { error: 'must be "true" or "false"' })
    .transform((value) => value === 'true')
    .default(defaultValue);
}

/** The DynamoDB tables, one variable each (physical names come from the stack). */
export const TablesConfig = z.object({
  TASKS_TABLE: ResourceName,
  JOBS_TABLE: ResourceName,
  FILES_TABLE: ResourceName,
  DATASETS_TABLE: ResourceName,
  PILOTS_TABLE: ResourceName,
  CONTROL_TABLE: ResourceName,
});
export type TablesConfig = z.infer<typeof TablesConfig>;

/** The per-device job queues the dispatcher fills and pilots poll. */
export const DeviceQueuesConfig = z.object({
  JOBS_CPU_QUEUE_URL: QueueUrl,
  JOBS_GPU_QUEUE_URL: QueueUrl,
});
export type DeviceQueuesConfig = z.infer<typeof DeviceQueuesConfig>;

/** The queue pilots send job progress and results to. */
export const StatusQueueConfig = z.object({ STATUS_QUEUE_URL: QueueUrl });
export type StatusQueueConfig = z.infer<typeof StatusQueueConfig>;

/** The WMS EventBridge bus. */
export const EventBusConfig = z.object({ EVENT_BUS_NAME: ResourceName });
export type EventBusConfig = z.infer<typeof EventBusConfig>;

/** The bucket holding input, output and log files. */
export const DataBucketConfig = z.object({ DATA_BUCKET: BucketName });
export type DataBucketConfig = z.infer<typeof DataBucketConfig>;

/** Pilot heartbeat period; 30 s by default (design §8). */
export const HeartbeatConfig = z.object({
  HEARTBEAT_INTERVAL_SECONDS: integer({ default: 30, min: 1, max: 3600 }),
});
export type HeartbeatConfig = z.infer<typeof HeartbeatConfig>;

/**
 * What shared/aws reads beyond the SDK's own standard variables (AWS_ENDPOINT_URL*,
 * AWS_REGION, credentials): path-style S3 addressing, needed by moto, MinIO and Ceph RGW.
 */
/**
 * Archival of finished tasks (shared/services/archival.ts): how long after its end a task is
 * exported, how long its job and log-file items stay after the export before DynamoDB's TTL
 * deletes them, and how many tasks one watchdog run archives at most.
 */
export const ArchiveConfig = z.object({
  ARCHIVE_AFTER_SECONDS: integer({ default: 86_400, min: 0, max: 365 * 86_400 }),
  ARCHIVE_RETENTION_DAYS: integer({ default: 30, min: 0, max: 3650 }),
  ARCHIVE_TASKS_PER_RUN: integer({ default: 10, min: 0, max: 1000 }),
});
export type ArchiveConfig = z.infer<typeof ArchiveConfig>;

export const AwsClientConfig = z.object({ AWS_S3_FORCE_PATH_STYLE: flag(false) });
export type AwsClientConfig = z.infer<typeof AwsClientConfig>;

/**
 * Where jobs finished per minute are kept for the dashboard's history: `cloudwatch` reads the
 * functions' EMF metrics (the stack's setting); `control-table` keeps per-minute counters in
 * the Control table (the embedded runtime's: its emulator makes no metrics of EMF logs).
 */
export const THROUGHPUT_HISTORY_KINDS = ['cloudwatch', 'control-table'] as const;
export type ThroughputHistoryKind = (typeof THROUGHPUT_HISTORY_KINDS)[number];
export const ThroughputHistoryConfig = z.object({
  THROUGHPUT_HISTORY: z.enum(THROUGHPUT_HISTORY_KINDS, {
    error: `must be one of ${THROUGHPUT_HISTORY_KINDS.join(', ')}`,
  }),
});
export type ThroughputHistoryConfig = z.infer<typeof ThroughputHistoryConfig>;

/** Where the functions that start job generation send their messages. */
export const JobGenerationQueueConfig = z.object({ JOB_GENERATION_QUEUE_URL: QueueUrl });
export type JobGenerationQueueConfig = z.infer<typeof JobGenerationQueueConfig>;

/** SQS's limit on a queue name. */
export const QUEUE_NAME_MAX_LENGTH = 80;
/** Hex characters of sha256(pilotId) in a hashed control queue name: 104 bits, collisions out of reach. */
export const CONTROL_QUEUE_HASH_LENGTH = 26;
/** Room a control queue prefix must leave for a hashed name: `_` and the hash. */
export const CONTROL_QUEUE_PREFIX_MAX_LENGTH = QUEUE_NAME_MAX_LENGTH - CONTROL_QUEUE_HASH_LENGTH - 1;

/** The name prefix of every pilot control queue (functions that send to, list or delete them). */
export const PilotControlQueuePrefixConfig = z.object({
  PILOT_CONTROL_QUEUE_PREFIX: z
    .string()
    .regex(
      new RegExp(`^[A-Za-z0-9_-]{1,${CONTROL_QUEUE_PREFIX_MAX_LENGTH}}$`),
      `must be 1 to ${CONTROL_QUEUE_PREFIX_MAX_LENGTH} letters, digits, - or _`,
    ),
});
export type PilotControlQueuePrefixConfig = z.infer<typeof PilotControlQueuePrefixConfig>;

/** Where pilot control queues are created and where their undeliverable commands go. */
export const PilotControlConfig = z.object({
  ...PilotControlQueuePrefixConfig.shape,
  PILOT_CONTROL_DEAD_LETTER_ARN: z
    .string()
    .regex(/^arn:[a-z-]+:sqs:[a-z0-9-]*:\d*:[A-Za-z0-9_-]{1,80}$/, 'must be an SQS queue ARN'),
});
export type PilotControlConfig = z.infer<typeof PilotControlConfig>;

/** The rank update's coefficients (design §7), read by the rank-updater and the watchdog. */
export const RankConfig = z.object({
  RANK_ALPHA: decimal({ default: DEFAULT_RANK_ALPHA, min: 0, max: 100 }),
  RANK_BETA: decimal({ default: DEFAULT_RANK_BETA, min: 0, max: 100 }),
  RANK_GAMMA: decimal({ default: DEFAULT_RANK_GAMMA, min: 0, max: 0.99 }),
  RANK_AGING_UNIT_SECONDS: integer({ default: DEFAULT_AGING_UNIT_SECONDS, min: 1, max: 86_400 }),
});
export type RankConfig = z.infer<typeof RankConfig>;

/**
 * The backoff of retried jobs (shared/retry RetryPolicy), read by every function that ends an
 * attempt: status (a reported failure) and the watchdog (a LOST attempt).
 */
/** How many counter shards a task registered from now on gets (docs/capacity.md, *Task counter shards*). */
export const TaskRegistrationConfig = z.object({
  TASK_COUNTER_SHARDS: integer({ default: DEFAULT_COUNTER_SHARDS, min: 1, max: MAX_COUNTER_SHARDS }),
});
export type TaskRegistrationConfig = z.infer<typeof TaskRegistrationConfig>;

export const RetryPolicyConfig = z.object({
  JOB_RETRY_BASE_SECONDS: integer({ default: DEFAULT_RETRY_BASE_SECONDS, min: 0, max: 86_400 }),
  JOB_RETRY_MAX_SECONDS: integer({ default: DEFAULT_RETRY_MAX_SECONDS, min: 0, max: 86_400 }),
  JOB_RETRY_JITTER_FRACTION: decimal({ default: 0, min: 0, max: 1 }),
});
export type RetryPolicyConfig = z.infer<typeof RetryPolicyConfig>;

/** The retry policy of shared/retry from its configuration. */
export function retryPolicyOf(config: RetryPolicyConfig): RetryPolicyInput {
  return {
    baseSeconds: config.JOB_RETRY_BASE_SECONDS,
    maxSeconds: config.JOB_RETRY_MAX_SECONDS,
    jitterFraction: config.JOB_RETRY_JITTER_FRACTION,
  };
}

/** The rank parameters of shared/rank from their configuration. */
export function rankParamsOf(config: RankConfig): RankParamsInput {
  return {
    alpha: config.RANK_ALPHA,
    beta: config.RANK_BETA,
    gamma: config.RANK_GAMMA,
    agingUnitSeconds: config.RANK_AGING_UNIT_SECONDS,
  };
}
