import { z } from 'zod';
import { TablesConfig } from '../../shared/config/index.js';
import { ConsumerQueueConfig } from '../common/index.js';

/** What file-input reads at cold start: the tables and its source queue. */
export const FileInputConfig = z.object({ ...TablesConfig.shape, ...ConsumerQueueConfig.shape });
export type FileInputConfig = z.infer<typeof FileInputConfig>;
