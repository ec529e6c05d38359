/** The rank (priority) update of tasks: aging and retry boosts over the base rank. */
export {
  DEFAULT_AGING_UNIT_SECONDS,
  DEFAULT_RANK_ALPHA,
  DEFAULT_RANK_BETA,
  DEFAULT_RANK_GAMMA,
} from './constants.js';
export { nextRank } from './rank.js';
export { RankInput, RankParams, type RankParamsInput } from './schemas.js';
