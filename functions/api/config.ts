import { z } from 'zod';
import {
  DataBucketConfig,
  DeviceQueuesConfig,
  EventBusConfig,
  HeartbeatConfig,
  JobGenerationQueueConfig,
  PilotControlConfig,
  StatusQueueConfig,
  TablesConfig,
  TaskRegistrationConfig,
  ThroughputHistoryConfig,
} from '../../shared/config/index.js';
import { DeadLetterQueuesConfig } from './dead-letters.js';

/** What the stack gives the api function (infra/stack/wms-stack.ts). */
export const ApiConfig = z.object({
  ...TablesConfig.shape,
  ...EventBusConfig.shape,
  ...DeviceQueuesConfig.shape,
  ...JobGenerationQueueConfig.shape,
  ...PilotControlConfig.shape,
  ...HeartbeatConfig.shape,
  ...StatusQueueConfig.shape,
  ...DeadLetterQueuesConfig.shape,
  ...ThroughputHistoryConfig.shape,
  ...DataBucketConfig.shape,
  ...TaskRegistrationConfig.shape,
});
export type ApiConfig = z.infer<typeof ApiConfig>;
