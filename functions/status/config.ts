import { z } from 'zod';
import {
  DataBucketConfig,
  decimal,
  EventBusConfig,
  integer,
  TablesConfig,
  ThroughputHistoryConfig,
} from '../../shared/config/index.js';
import { DEFAULT_RETRY_BASE_SECONDS, DEFAULT_RETRY_MAX_SECONDS } from '../../shared/retry/index.js';
import { ConsumerQueueConfig } from '../common/index.js';

/** The backoff of retried jobs (shared/retry RetryPolicy). */
export const RetryPolicyConfig = z.object({
  JOB_RETRY_BASE_SECONDS: integer({ default: DEFAULT_RETRY_BASE_SECONDS, min: 0, max: 86_400 }),
  JOB_RETRY_MAX_SECONDS: integer({ default: DEFAULT_RETRY_MAX_SECONDS, min: 0, max: 86_400 }),
  JOB_RETRY_JITTER_FRACTION: decimal({ default: 0, min: 0, max: 1 }),
});

/** What status reads at cold start. */
export const StatusConfig = z.object({
  ...TablesConfig.shape,
  ...EventBusConfig.shape,
  ...DataBucketConfig.shape,
  ...ConsumerQueueConfig.shape,
  ...RetryPolicyConfig.shape,
  ...ThroughputHistoryConfig.shape,
});
export type StatusConfig = z.infer<typeof StatusConfig>;
