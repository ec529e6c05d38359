import { z } from 'zod';
import {
  EventBusConfig,
  JobGenerationQueueConfig,
  TablesConfig,
  TaskRegistrationConfig,
} from '../../shared/config/index.js';
import { ConsumerQueueConfig } from '../common/index.js';

/** What the stack gives the task-commands function (infra/stack/wms-stack.ts). */
export const TaskCommandsConfig = z.object({
  ...TablesConfig.shape,
  ...EventBusConfig.shape,
  ...JobGenerationQueueConfig.shape,
  ...ConsumerQueueConfig.shape,
  ...TaskRegistrationConfig.shape,
});
export type TaskCommandsConfig = z.infer<typeof TaskCommandsConfig>;
