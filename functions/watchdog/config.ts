import { z } from 'zod';
import {
  ArchiveConfig,
  DataBucketConfig,
  DeviceQueuesConfig,
  EventBusConfig,
  HeartbeatConfig,
  integer,
  PilotControlQueuePrefixConfig,
  RankConfig,
  RetryPolicyConfig,
  TablesConfig,
} from '../../shared/config/index.js';

/** What the watchdog reads at cold start. */
export const WatchdogConfig = z.object({
  ...TablesConfig.shape,
  ...DeviceQueuesConfig.shape,
  ...EventBusConfig.shape,
  ...HeartbeatConfig.shape,
  ...RankConfig.shape,
  ...RetryPolicyConfig.shape,
  ...PilotControlQueuePrefixConfig.shape,
  ...DataBucketConfig.shape,
  ...ArchiveConfig.shape,
  /** Silence after which a pilot is LOST; three heartbeat intervals when unset. */
  PILOT_LOST_AFTER_SECONDS: z
    .string()
    .regex(/^\d+$/, 'must be an integer')
    .transform(Number)
    .pipe(z.number().int().min(1).max(86_400))
    .optional(),
  /** Time a live pilot may leave one of its RUNNING jobs out of its heartbeats before the job is retried. */
  JOB_UNREPORTED_AFTER_SECONDS: integer({ default: 600, min: 1, max: 86_400 }),
  /** Age after which a QUEUED job whose queue lacks its message is re-queued. */
  QUEUED_STUCK_AFTER_SECONDS: integer({ default: 300, min: 1, max: 86_400 }),
  /** Tasks audited per run (0: no audit), and objects looked up in storage for them. */
  AUDIT_SAMPLE_TASKS: integer({ default: 3, min: 0, max: 1000 }),
  AUDIT_SAMPLE_OBJECTS: integer({ default: 50, min: 0, max: 10_000 }),
});
export type WatchdogConfig = z.infer<typeof WatchdogConfig>;

/** Pilots miss this many heartbeats before they are declared LOST, unless configured otherwise. */
export const MISSED_HEARTBEATS_BEFORE_LOST = 3;

export function pilotLostAfterSeconds(
  config: Pick<WatchdogConfig, 'PILOT_LOST_AFTER_SECONDS' | 'HEARTBEAT_INTERVAL_SECONDS'>,
): number {
  return config.PILOT_LOST_AFTER_SECONDS ?? MISSED_HEARTBEATS_BEFORE_LOST * config.HEARTBEAT_INTERVAL_SECONDS;
}
