import type { RetryPolicyInput } from './schemas.js';

export interface RetryInput {
  /** The registry code the failed attempt ended with. */
  errorCode: number;
  /** The attempt that failed (0 for the first run). */
  attempt: number;
  /** How many retries the task allows after the first run. */
  maxRetries: number;
  policy?: RetryPolicyInput;
  /** A source of numbers in [0, 1) for jitter; only read when the policy has a jitter fraction. */
  random?: () => number;
}

export type RetryFailReason = 'not-retryable' | 'retries-exhausted' | 'unknown-error-code';

export type RetryDecision =
  | { action: 'retry'; nextAttempt: number; delaySeconds: number }
  | { action: 'fail'; reason: RetryFailReason };

export interface RetryPlanInput extends RetryInput {
  /** The configured backoff: required here, so no path that ends an attempt falls back to the defaults. */
  policy: RetryPolicyInput;
  /** When the attempt ended. */
  now: Date;
}

export type RetryPlan =
  | { action: 'retry'; nextAttempt: number; delaySeconds: number; retryAfter: string }
  | { action: 'fail'; reason: RetryFailReason };
