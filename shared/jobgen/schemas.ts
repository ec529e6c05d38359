import { z } from 'zod';
import { Identifier, JobModeSchema, LIMITS } from '../model/index.js';

/** The part of a task that decides how its files are chunked into jobs. */
export const JobPlanTask = z.object({
  taskId: Identifier,
  mode: JobModeSchema,
  filesPerJob: z.number().int().min(1).max(LIMITS.filesPerJob),
});
export type JobPlanTask = z.infer<typeof JobPlanTask>;
