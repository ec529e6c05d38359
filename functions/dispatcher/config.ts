import { z } from 'zod';
import { DataBucketConfig, DeviceQueuesConfig, decimal, TablesConfig } from '../../shared/config/index.js';

/** What the dispatcher reads at cold start: tables, device queues, the data bucket and its headroom. */
export const DispatcherConfig = z.object({
  ...TablesConfig.shape,
  ...DeviceQueuesConfig.shape,
  ...DataBucketConfig.shape,
  /** Jobs queued beyond the free slots, as a fraction of the slots (controlled loading). */
  DISPATCH_HEADROOM_FRACTION: decimal({ default: 0.1, min: 0, max: 1 }),
});
export type DispatcherConfig = z.infer<typeof DispatcherConfig>;
