import { z } from 'zod';
import { EventBusConfig, TablesConfig } from '../../shared/config/index.js';

/** What task-lifecycle reads at cold start: the tables and the bus. */
export const TaskLifecycleConfig = z.object({ ...TablesConfig.shape, ...EventBusConfig.shape });
export type TaskLifecycleConfig = z.infer<typeof TaskLifecycleConfig>;
