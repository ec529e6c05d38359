import { z } from 'zod';
import {
  DeviceQueuesConfig,
  EventBusConfig,
  HeartbeatConfig,
  TablesConfig,
} from '../../shared/config/index.js';
import { JobGenerationQueueConfig, PilotControlConfig } from '../../shared/services/index.js';

/** What the stack gives the api function (infra/stack/wms-stack.ts). */
export const ApiConfig = z.object({
  ...TablesConfig.shape,
  ...EventBusConfig.shape,
  ...DeviceQueuesConfig.shape,
  ...JobGenerationQueueConfig.shape,
  ...PilotControlConfig.shape,
  ...HeartbeatConfig.shape,
});
export type ApiConfig = z.infer<typeof ApiConfig>;
