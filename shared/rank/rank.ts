import { ValidationError } from '../errors/index.js';
import { RankInput, RankParams, type RankParamsInput } from './schemas.js';

// Products such as 0.7 · 10 come out a hair off the integer; this keeps them on it.
const ROUNDING_TOLERANCE = 1e-9;

function truncateTowardZero(value: number): number {
  return Math.trunc(value + Math.sign(value) * ROUNDING_TOLERANCE);
}

/**
 * The next effective rank of a task (design §7, SEEDS `rank(i+1) = α·x(i) + β·y(i) + γ·rank(i)`),
 * taken relative to the base rank the WfMS set so that a served task returns to it:
 *
 *   boost' = α · waitedSeconds / agingUnitSeconds + β · retryJobs + γ · (rank − baseRank)
 *   rank'  = clamp(baseRank + trunc(boost'), 1, rankMax)
 *
 * Aging (x) is the time waited without service while the task had READY jobs, in aging
 * units; retries (y) is the number of its READY jobs with attempt > 0. The boost is rounded
 * toward zero rather than to the nearest integer: with γ < 1 the boost then strictly
 * shrinks each update until the task is back at its base rank (nearest rounding would
 * keep γ = 0.5 at a boost of 1 forever). A priority change sets rank and baseRank
 * together, so the new priority is not diluted by the old boost.
 */
export function nextRank(input: RankInput, params: RankParamsInput = {}): number {
  const parsedInput = RankInput.safeParse(input);
  if (!parsedInput.success) throw ValidationError.fromZod('rank input', parsedInput.error);
  const parsedParams = RankParams.safeParse(params);
  if (!parsedParams.success) throw ValidationError.fromZod('rank parameters', parsedParams.error);
  const { baseRank, rank, waitedSeconds, retryJobs } = parsedInput.data;
  const { alpha, beta, gamma, agingUnitSeconds, rankMax } = parsedParams.data;

  const aging = waitedSeconds / agingUnitSeconds;
  const boost = alpha * aging + beta * retryJobs + gamma * (rank - baseRank);
  return Math.min(rankMax, Math.max(1, baseRank + truncateTowardZero(boost)));
}
