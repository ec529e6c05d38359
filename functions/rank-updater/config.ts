import { z } from 'zod';
import { RankConfig, TablesConfig } from '../../shared/config/index.js';

/** What the rank-updater reads at cold start: the tables and the rank coefficients. */
export const RankUpdaterConfig = z.object({ ...TablesConfig.shape, ...RankConfig.shape });
export type RankUpdaterConfig = z.infer<typeof RankUpdaterConfig>;
