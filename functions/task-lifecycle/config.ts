import { z } from 'zod';
import { DataBucketConfig, EventBusConfig, integer, TablesConfig } from '../../shared/config/index.js';
import { LIMITS } from '../../shared/model/index.js';

/**
 * Most names the WMS's dataset.close carries inline: about 5,000 typical names fill half of an
 * EventBridge entry; a larger output or log dataset is closed by a checklist object.
 */
export const DEFAULT_CHECKLIST_INLINE_MAX_FILES = 5_000;

/** What task-lifecycle reads at cold start: the tables, the bus, and where checklists go. */
export const TaskLifecycleConfig = z.object({
  ...TablesConfig.shape,
  ...EventBusConfig.shape,
  ...DataBucketConfig.shape,
  CHECKLIST_INLINE_MAX_FILES: integer({
    default: DEFAULT_CHECKLIST_INLINE_MAX_FILES,
    min: 0,
    max: LIMITS.checklistFiles,
  }),
});
export type TaskLifecycleConfig = z.infer<typeof TaskLifecycleConfig>;
