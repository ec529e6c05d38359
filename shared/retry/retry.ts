import { errorByCode, ValidationError } from '../errors/index.js';
import { RetryPolicy } from './schemas.js';
import type { RetryDecision, RetryInput, RetryPlan, RetryPlanInput } from './types.js';

/** The backoff before retrying after `attempt` failed: base · 2^attempt, capped at max. */
export function retryDelaySeconds(
  attempt: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  // A zero base means no backoff; it is checked first because 0 · 2^attempt is NaN once 2^attempt overflows.
  if (policy.baseSeconds === 0) return 0;
  const delay = Math.min(policy.maxSeconds, policy.baseSeconds * 2 ** attempt);
  if (policy.jitterFraction === 0) return delay;
  return Math.round(delay * (1 - policy.jitterFraction * random()));
}

/**
 * Whether a failed attempt of a job is retried. A code the registry does not know or marks
 * non-retryable fails at once; otherwise the job is retried while attempt + 1 ≤ maxRetries,
 * after an exponential backoff (deterministic unless the policy asks for jitter). A lost
 * attempt (category `lost`: its pilot died or stopped reporting it) counts the same but is
 * retried at once: the watchdog found it a minute or more after the loss, and its retry runs
 * on another pilot.
 */
export function decideRetry(input: RetryInput): RetryDecision {
  const { errorCode, attempt, maxRetries } = input;
  const issues = [
    ...(Number.isInteger(attempt) && attempt >= 0
      ? []
      : [{ path: 'attempt', message: 'must be an integer >= 0' }]),
    ...(Number.isInteger(maxRetries) && maxRetries >= 0
      ? []
      : [{ path: 'maxRetries', message: 'must be an integer >= 0' }]),
  ];
  if (issues.length > 0) throw new ValidationError('invalid retry input', issues);
  const policy = RetryPolicy.safeParse(input.policy ?? {});
  if (!policy.success) throw ValidationError.fromZod('retry policy', policy.error);

  const entry = errorByCode(errorCode);
  if (entry === undefined) return { action: 'fail', reason: 'unknown-error-code' };
  if (!entry.retryable) return { action: 'fail', reason: 'not-retryable' };
  const nextAttempt = attempt + 1;
  if (nextAttempt > maxRetries) return { action: 'fail', reason: 'retries-exhausted' };
  return {
    action: 'retry',
    nextAttempt,
    delaySeconds: entry.category === 'lost' ? 0 : retryDelaySeconds(attempt, policy.data, input.random),
  };
}

/** The retry time of a failed attempt: `delaySeconds` after `now`. */
export function retryAfterOf(now: Date, delaySeconds: number): string {
  return new Date(now.getTime() + delaySeconds * 1000).toISOString();
}

/**
 * The retry of a failed attempt at `now`, for every path that ends one: a result the pilot
 * reported (status) and an attempt found LOST (watchdog). Both count the attempt against
 * `maxRetries`, from the same configured policy; the retry is dispatched no earlier than
 * `retryAfter` (now, for a lost attempt).
 */
export function planRetry(input: RetryPlanInput): RetryPlan {
  const { now, ...decisionInput } = input;
  const decision = decideRetry(decisionInput);
  if (decision.action === 'fail') return decision;
  return { ...decision, retryAfter: retryAfterOf(now, decision.delaySeconds) };
}
