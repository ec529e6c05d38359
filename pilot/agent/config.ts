import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { Environment } from '../../shared/config/index.js';
import { loadConfig, QueueUrl } from '../../shared/config/index.js';
import { ConfigError, ValidationError } from '../../shared/errors/index.js';
import { DeviceSchema } from '../../shared/model/index.js';
import { DEFAULTS, SQS_MAX_WAIT_SECONDS } from './constants.js';

const MIB = 1024 ** 2;
/** S3 refuses multipart parts below 5 MiB (except the last). */
const S3_MIN_PART_BYTES = 5 * MIB;

const seconds = z
  .number()
  .min(0)
  .max(7 * 24 * 3600);
const count = (max: number) => z.number().int().min(1).max(max);

export const StagingConfig = z
  .object({
    rangedDownloadThresholdBytes: z.number().int().min(1).default(DEFAULTS.rangedDownloadThresholdBytes),
    rangedDownloadPartBytes: z
      .number()
      .int()
      .min(64 * 1024)
      .default(DEFAULTS.rangedDownloadPartBytes),
    downloadParallelism: count(64).default(DEFAULTS.downloadParallelism),
    uploadPartBytes: z.number().int().min(S3_MIN_PART_BYTES).default(DEFAULTS.uploadPartBytes),
    uploadParallelism: count(64).default(DEFAULTS.uploadParallelism),
    /** Send `x-amz-checksum-sha256` on uploads; turn off for a store that rejects it. */
    uploadChecksumHeader: z.boolean().default(DEFAULTS.uploadChecksumHeader),
  })
  .strict();

const bytes = (min: number) => z.number().int().min(min);

/** Limits on each payload; memory and disk are per job. */
export const LimitsConfig = z
  .object({
    /** A job's memory limit when its task sets none; none when absent. */
    memoryBytes: bytes(16 * MIB).optional(),
    /** The most memory a task may ask for; a larger request is lowered to this. */
    maxMemoryBytes: bytes(16 * MIB).optional(),
    /** The most of the payload's stdout and stderr kept in its log. */
    logBytes: bytes(64 * 1024).default(DEFAULTS.logCapBytes),
    /** Disk a job's work directory may use beyond its inputs; unlimited when absent. */
    workDirBytes: bytes(1024 ** 2).optional(),
    /** How often a running job's work directory is measured against its quota. */
    diskCheckIntervalSeconds: z.number().min(0.1).max(3600).default(DEFAULTS.diskCheckIntervalSeconds),
  })
  .strict();

/** The pilot's configuration file (JSON), after environment overrides. */
export const PilotConfig = z
  .object({
    apiUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
    /** Signing region of the API and region of the SDK clients; AWS_REGION when absent. */
    region: z.string().min(1).optional(),
    jobQueueUrls: z.object({ CPU: QueueUrl, GPU: QueueUrl }).strict(),
    statusQueueUrl: QueueUrl,
    /** S3-compatible storage; AWS_ENDPOINT_URL_S3 / AWS_S3_FORCE_PATH_STYLE take precedence. */
    s3: z
      .object({
        endpoint: z.url({ protocol: /^https?$/ }).optional(),
        forcePathStyle: z.boolean().optional(),
      })
      .strict()
      .default({}),
    device: DeviceSchema.optional(),
    gpuCount: z.number().int().min(0).max(64).optional(),
    slots: count(1024).optional(),
    coresPerSlot: count(1024).default(DEFAULTS.coresPerSlot),
    workDir: z.string().min(1),
    spoolDir: z.string().min(1),
    heartbeatIntervalSeconds: count(3600).default(DEFAULTS.heartbeatIntervalSeconds),
    /** Cap on every job's wall time. */
    wallTimeSeconds: count(30 * 24 * 3600).default(DEFAULTS.wallTimeSeconds),
    /** Exit after this long without work; never when absent. */
    idleExitSeconds: seconds.optional(),
    /** Exit once this many jobs were claimed and have finished; no limit when absent. */
    maxJobs: count(10_000_000).optional(),
    killGraceSeconds: seconds.default(DEFAULTS.killGraceSeconds),
    shutdownGraceSeconds: seconds.default(DEFAULTS.shutdownGraceSeconds),
    pollWaitSeconds: z.number().int().min(0).max(SQS_MAX_WAIT_SECONDS).default(DEFAULTS.pollWaitSeconds),
    staging: StagingConfig.default(StagingConfig.parse({})),
    /**
     * The unprivileged user payloads run as (never the pilot's own), or one per slot: slot N
     * runs as the Nth, so payloads of different slots cannot touch each other's files.
     */
    payloadUser: z.union([z.string().min(1), z.array(z.string().min(1)).min(1).max(1024)]).optional(),
    /** Without `payloadUser`, run payloads as the pilot itself (they can read its credentials). */
    allowSameUserPayloads: z.boolean().default(false),
    /** The cgroup hierarchy for payloads: the best usable (`auto`), or only v1 or v2. */
    cgroups: z.enum(['auto', 'v1', 'v2']).default('auto'),
    limits: LimitsConfig.default(LimitsConfig.parse({})),
    /**
     * An AWS shared-credentials file (INI; a profile may use `credential_process`), readable by
     * the pilot's user only. Without it, `$CREDENTIALS_DIRECTORY/aws-credentials` (systemd's
     * LoadCredential=), then the SDK's chain without environment variables.
     */
    credentialsFile: z.string().min(1).optional(),
    credentialsProfile: z.string().min(1).default('default'),
  })
  .strict();
export type PilotConfig = z.infer<typeof PilotConfig>;

const decimal = z
  .string()
  .regex(/^\d+(\.\d+)?$/, 'must be a non-negative number')
  .transform(Number)
  .optional();
const text = z.string().optional();

/**
 * Environment variables that override the file, each naming one setting. The standard AWS_*
 * variables are read by the SDK itself and win over `region` and `s3`.
 */
export const PilotEnvironment = z.object({
  WMS_PILOT_API_URL: text,
  WMS_PILOT_CPU_QUEUE_URL: text,
  WMS_PILOT_GPU_QUEUE_URL: text,
  WMS_PILOT_STATUS_QUEUE_URL: text,
  WMS_PILOT_DEVICE: text,
  WMS_PILOT_GPU_COUNT: decimal,
  WMS_PILOT_SLOTS: decimal,
  WMS_PILOT_CORES_PER_SLOT: decimal,
  WMS_PILOT_WORK_DIR: text,
  WMS_PILOT_SPOOL_DIR: text,
  WMS_PILOT_HEARTBEAT_INTERVAL_SECONDS: decimal,
  WMS_PILOT_WALL_TIME_SECONDS: decimal,
  WMS_PILOT_IDLE_EXIT_SECONDS: decimal,
  WMS_PILOT_MAX_JOBS: decimal,
  WMS_PILOT_KILL_GRACE_SECONDS: decimal,
  WMS_PILOT_SHUTDOWN_GRACE_SECONDS: decimal,
  WMS_PILOT_POLL_WAIT_SECONDS: decimal,
  WMS_PILOT_CREDENTIALS_FILE: text,
});

/** Where each override variable goes in the configuration. */
const OVERRIDE_PATHS: Record<keyof z.infer<typeof PilotEnvironment>, readonly string[]> = {
  WMS_PILOT_API_URL: ['apiUrl'],
  WMS_PILOT_CPU_QUEUE_URL: ['jobQueueUrls', 'CPU'],
  WMS_PILOT_GPU_QUEUE_URL: ['jobQueueUrls', 'GPU'],
  WMS_PILOT_STATUS_QUEUE_URL: ['statusQueueUrl'],
  WMS_PILOT_DEVICE: ['device'],
  WMS_PILOT_GPU_COUNT: ['gpuCount'],
  WMS_PILOT_SLOTS: ['slots'],
  WMS_PILOT_CORES_PER_SLOT: ['coresPerSlot'],
  WMS_PILOT_WORK_DIR: ['workDir'],
  WMS_PILOT_SPOOL_DIR: ['spoolDir'],
  WMS_PILOT_HEARTBEAT_INTERVAL_SECONDS: ['heartbeatIntervalSeconds'],
  WMS_PILOT_WALL_TIME_SECONDS: ['wallTimeSeconds'],
  WMS_PILOT_IDLE_EXIT_SECONDS: ['idleExitSeconds'],
  WMS_PILOT_MAX_JOBS: ['maxJobs'],
  WMS_PILOT_KILL_GRACE_SECONDS: ['killGraceSeconds'],
  WMS_PILOT_SHUTDOWN_GRACE_SECONDS: ['shutdownGraceSeconds'],
  WMS_PILOT_POLL_WAIT_SECONDS: ['pollWaitSeconds'],
  WMS_PILOT_CREDENTIALS_FILE: ['credentialsFile'],
};

/** A copy of `raw` with every override set in the environment written at its path. */
export function applyEnvironmentOverrides(raw: unknown, env: Environment): Record<string, unknown> {
  const overrides = loadConfig(PilotEnvironment, env);
  const merged: Record<string, unknown> = structuredClone(
    typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {},
  );
  for (const [variable, path] of Object.entries(OVERRIDE_PATHS)) {
    const value = overrides[variable as keyof typeof overrides];
    if (value === undefined) continue;
    let target = merged;
    for (const key of path.slice(0, -1)) {
      const next = target[key];
      target[key] = typeof next === 'object' && next !== null ? next : {};
      target = target[key] as Record<string, unknown>;
    }
    target[path[path.length - 1]!] = value;
  }
  return merged;
}

/** Validates a configuration object; the ConfigError names every bad field by its path. */
export function validateConfig<Schema extends z.ZodType>(
  schema: Schema,
  raw: unknown,
  subject: string,
): z.output<Schema> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const error = ValidationError.fromZod(subject, parsed.error);
    throw new ConfigError(error.issues.map((issue) => issue.path).join(', '), error.message, {
      cause: error,
    });
  }
  return parsed.data;
}

/** The JSON content of a configuration file; a missing or malformed file is a ConfigError. */
export async function readConfigFile(file: string, subject: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(file, `cannot read the ${subject}: ${(error as Error).message}`, { cause: error });
  }
}

/** Validates the configuration after applying the environment's overrides. */
export function parsePilotConfig(raw: unknown, env: Environment): PilotConfig {
  return validateConfig(PilotConfig, applyEnvironmentOverrides(raw, env), 'pilot configuration');
}

/** Reads and validates the configuration file, then applies the environment's overrides. */
export async function loadPilotConfig(file: string, env: Environment): Promise<PilotConfig> {
  return parsePilotConfig(await readConfigFile(file, 'pilot configuration'), env);
}

/**
 * `<host>-<random>`, the host reduced to what an Identifier allows. New on every start: the
 * control plane refuses an id it has seen exit or declared lost, whose jobs it gave away.
 */
export function defaultPilotId(host: string, random: string): string {
  const cleanHost = host
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 100);
  return cleanHost ? `${cleanHost}-${random}` : `pilot-${random}`;
}

/** The region the pilot signs with and its clients use: AWS_REGION first, then the file. */
export function resolveRegion(config: PilotConfig, env: Environment): string {
  const region = env.AWS_REGION || config.region;
  if (!region) throw new ConfigError('region', 'set AWS_REGION or "region" in the pilot configuration');
  return region;
}

function withoutCredentials(url: string): string {
  const parsed = new URL(url);
  if (parsed.username || parsed.password) {
    parsed.username = '';
    parsed.password = '';
  }
  parsed.search = '';
  return parsed.toString();
}

/**
 * The configuration as it may be logged. It holds no secret by design (credentials come from
 * the SDK's provider chain), but a URL could carry a user, a password or a signed query.
 */
export function printableConfig(config: PilotConfig): PilotConfig {
  return {
    ...config,
    apiUrl: withoutCredentials(config.apiUrl),
    jobQueueUrls: {
      CPU: withoutCredentials(config.jobQueueUrls.CPU),
      GPU: withoutCredentials(config.jobQueueUrls.GPU),
    },
    statusQueueUrl: withoutCredentials(config.statusQueueUrl),
    s3: { ...config.s3, ...(config.s3.endpoint && { endpoint: withoutCredentials(config.s3.endpoint) }) },
  };
}
