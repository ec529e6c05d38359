/**
 * The configuration schema each function reads at cold start (`functions/<name>/config.ts`),
 * by function name: what the stack must give each function, and which settings exist.
 */
import type { z } from 'zod';
import { ApiConfig } from './api/config.js';
import { DatasetAdminConfig } from './dataset-admin/config.js';
import { DatasetCloseConfig } from './dataset-close/config.js';
import { DispatcherConfig } from './dispatcher/config.js';
import { FileInputConfig } from './file-input/config.js';
import { JobGeneratorConfig } from './job-generator/config.js';
import { RankUpdaterConfig } from './rank-updater/config.js';
import { StatusConfig } from './status/config.js';
import { TaskCommandsConfig } from './task-commands/config.js';
import { TaskLifecycleConfig } from './task-lifecycle/config.js';
import { WatchdogConfig } from './watchdog/config.js';

export const FUNCTION_CONFIG_SCHEMAS: Readonly<Record<string, z.ZodObject>> = {
  api: ApiConfig,
  'dataset-admin': DatasetAdminConfig,
  'dataset-close': DatasetCloseConfig,
  dispatcher: DispatcherConfig,
  'file-input': FileInputConfig,
  'job-generator': JobGeneratorConfig,
  'rank-updater': RankUpdaterConfig,
  status: StatusConfig,
  'task-commands': TaskCommandsConfig,
  'task-lifecycle': TaskLifecycleConfig,
  watchdog: WatchdogConfig,
};
