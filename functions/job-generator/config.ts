import { z } from 'zod';
import { integer, JobGenerationQueueConfig, TablesConfig } from '../../shared/config/index.js';
import { LIST_PAGE_SIZE } from '../../shared/services/index.js';
import { ConsumerQueueConfig } from '../common/index.js';

/** How much one invocation generates before it hands the rest to a continuation message. */
export const GenerationLimitsConfig = z.object({
  JOB_GENERATION_FILES_PER_INVOCATION: integer({ default: 10_000, min: 1, max: 1_000_000 }),
  /** Input files read per query; smaller pages keep each under DynamoDB's 1 MB response for long keys. */
  JOB_GENERATION_PAGE_SIZE: integer({ default: LIST_PAGE_SIZE, min: 1, max: LIST_PAGE_SIZE }),
  /** Time kept free at the end of an invocation to send the continuation. */
  JOB_GENERATION_RESERVE_SECONDS: integer({ default: 30, min: 1, max: 600 }),
});

/** What job-generator reads at cold start. */
export const JobGeneratorConfig = z.object({
  ...TablesConfig.shape,
  ...ConsumerQueueConfig.shape,
  ...JobGenerationQueueConfig.shape,
  ...GenerationLimitsConfig.shape,
});
export type JobGeneratorConfig = z.infer<typeof JobGeneratorConfig>;
