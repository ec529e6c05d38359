import { z } from 'zod';
import { RANK_MAX } from '../model/index.js';
import {
  DEFAULT_AGING_UNIT_SECONDS,
  DEFAULT_RANK_ALPHA,
  DEFAULT_RANK_BETA,
  DEFAULT_RANK_GAMMA,
} from './constants.js';

/** Coefficients of the rank update; also the shape configuration reads. */
export const RankParams = z
  .object({
    /** Weight of aging, per aging unit waited. */
    alpha: z.number().min(0).default(DEFAULT_RANK_ALPHA),
    /** Weight of each READY job that is a retry. */
    beta: z.number().min(0).default(DEFAULT_RANK_BETA),
    /** How much of the previous boost is kept; below 1 so a served task returns to its base rank. */
    gamma: z.number().min(0).lt(1).default(DEFAULT_RANK_GAMMA),
    agingUnitSeconds: z.number().positive().default(DEFAULT_AGING_UNIT_SECONDS),
    rankMax: z.number().int().min(1).max(RANK_MAX).default(RANK_MAX),
  })
  .strict();
export type RankParams = z.infer<typeof RankParams>;
export type RankParamsInput = z.input<typeof RankParams>;

/** What the rank update reads of a task. */
export const RankInput = z
  .object({
    /** The rank the WfMS or an operator set. */
    baseRank: z.number().int().min(1),
    /** The current effective rank. */
    rank: z.number().int().min(1),
    /** Time the task has waited without being served while it had READY jobs. */
    waitedSeconds: z.number().min(0),
    /** READY jobs of the task with attempt > 0. */
    retryJobs: z.number().int().min(0),
  })
  .strict();
export type RankInput = z.infer<typeof RankInput>;
