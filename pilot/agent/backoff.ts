/** Exponential backoff with jitter, for calls the pilot retries until they go through. */
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  factor: number;
}

/**
 * The delay before retry number `failures` (1 for the first retry): initial · factor^(n−1),
 * capped at max, of which a random half is taken off so that pilots cut off together do not
 * come back together.
 */
export function backoffDelayMs(
  failures: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxMs, policy.initialMs * policy.factor ** Math.max(0, failures - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
