import { z } from 'zod';
import {
  DEFAULT_CLOSE_BASE_SECONDS,
  DEFAULT_CLOSE_MAX_ATTEMPTS,
  DEFAULT_CLOSE_MAX_SECONDS,
  SQS_MAX_VISIBILITY_SECONDS,
} from '../../shared/checklist/index.js';
import {
  DataBucketConfig,
  integer,
  JobGenerationQueueConfig,
  TablesConfig,
} from '../../shared/config/index.js';
import { ConsumerQueueConfig } from '../common/index.js';

/** How a dataset.close whose checklist does not match yet is deferred (shared/checklist closeDeferral). */
export const CloseDeferralConfig = z.object({
  DATASET_CLOSE_BASE_SECONDS: integer({
    default: DEFAULT_CLOSE_BASE_SECONDS,
    min: 1,
    max: SQS_MAX_VISIBILITY_SECONDS,
  }),
  DATASET_CLOSE_MAX_SECONDS: integer({
    default: DEFAULT_CLOSE_MAX_SECONDS,
    min: 1,
    max: SQS_MAX_VISIBILITY_SECONDS,
  }),
  DATASET_CLOSE_MAX_ATTEMPTS: integer({ default: DEFAULT_CLOSE_MAX_ATTEMPTS, min: 1, max: 1000 }),
});

/** What dataset-close reads at cold start. */
export const DatasetCloseConfig = z.object({
  ...TablesConfig.shape,
  ...ConsumerQueueConfig.shape,
  ...JobGenerationQueueConfig.shape,
  ...CloseDeferralConfig.shape,
  /** The bucket whose `checklists/` and `datasets/` prefixes checklist objects are read from. */
  ...DataBucketConfig.shape,
});
export type DatasetCloseConfig = z.infer<typeof DatasetCloseConfig>;
