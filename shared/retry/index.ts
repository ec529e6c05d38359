/** The retry policy of failed jobs: which failures are retried, how often and after what delay. */
export { DEFAULT_RETRY_BASE_SECONDS, DEFAULT_RETRY_MAX_SECONDS } from './constants.js';
export { decideRetry, planRetry, retryAfterOf, retryDelaySeconds } from './retry.js';
export { RetryPolicy, type RetryPolicyInput } from './schemas.js';
export type { RetryDecision, RetryFailReason, RetryInput, RetryPlan, RetryPlanInput } from './types.js';
