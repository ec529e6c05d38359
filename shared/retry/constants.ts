/** Default retry backoff: 5 s doubling per attempt, at most 5 minutes. */
export const DEFAULT_RETRY_BASE_SECONDS = 5;
export const DEFAULT_RETRY_MAX_SECONDS = 300;
