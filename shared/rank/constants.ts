/** Defaults of the rank update (design §7). */
export const DEFAULT_RANK_ALPHA = 1;
export const DEFAULT_RANK_BETA = 0.5;
export const DEFAULT_RANK_GAMMA = 0.5;
export const DEFAULT_AGING_UNIT_SECONDS = 60;
