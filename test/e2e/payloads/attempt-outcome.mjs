// The deterministic failure rule of the e2e payload, shared with the tests that predict it.
import { createHash } from 'node:crypto';

/** Of the failing attempts, this share fails for good (no output: not retryable). */
export const FATAL_SHARE = 0.2;

/** A number in [0, 1) drawn from `key` alone. */
export function uniform(key) {
  return createHash('sha256').update(key).digest().readUInt32BE(0) / 2 ** 32;
}

/**
 * How one attempt of a job over `name` ends: `ok`, `retryable` (non-zero exit) or `fatal`
 * (exit 0 without output). Attempts fail with probability `failRate`, independently.
 */
export function attemptOutcome({ seed, name, attempt, failRate }) {
  const draw = uniform(`${seed}:${name}:${attempt}`);
  if (draw >= failRate) return 'ok';
  return draw < failRate * FATAL_SHARE ? 'fatal' : 'retryable';
}
