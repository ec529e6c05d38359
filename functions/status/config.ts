import { z } from 'zod';
import {
  DataBucketConfig,
  EventBusConfig,
  RetryPolicyConfig,
  TablesConfig,
  ThroughputHistoryConfig,
} from '../../shared/config/index.js';
import { ConsumerQueueConfig } from '../common/index.js';

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
