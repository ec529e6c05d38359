import { z } from 'zod';
import { TablesConfig } from '../../shared/config/index.js';
import { ConsumerQueueConfig } from '../common/index.js';

/** What dataset-admin reads at cold start: the tables and its source queue. */
export const DatasetAdminConfig = z.object({ ...TablesConfig.shape, ...ConsumerQueueConfig.shape });
export type DatasetAdminConfig = z.infer<typeof DatasetAdminConfig>;
