import { z } from 'zod';
import {
  DataBucketConfig,
  DeviceQueuesConfig,
  decimal,
  integer,
  TablesConfig,
} from '../../shared/config/index.js';

/** What the dispatcher reads at cold start: tables, device queues, the data bucket and its headroom. */
export const DispatcherConfig = z.object({
  ...TablesConfig.shape,
  ...DeviceQueuesConfig.shape,
  ...DataBucketConfig.shape,
  /**
   * Jobs queued beyond the free slots, as a fraction of the slots (controlled loading). One job
   * waiting per slot by default: a slot that frees takes its next job at once instead of idling
   * while the result is applied and the next pass runs; a rank change then waits for at most
   * one more job per slot.
   */
  DISPATCH_HEADROOM_FRACTION: decimal({ default: 1, min: 0, max: 1 }),
  /**
   * READY jobs of a task read per query and kept for the next passes of a warm dispatcher, so
   * most passes query nothing: one query per this many dispatches of a busy task.
   */
  DISPATCH_READ_AHEAD: integer({ default: 100, min: 1, max: 1000 }),
});
export type DispatcherConfig = z.infer<typeof DispatcherConfig>;
