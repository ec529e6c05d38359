import { z } from 'zod';
import { DEFAULT_RETRY_BASE_SECONDS, DEFAULT_RETRY_MAX_SECONDS } from './constants.js';

/** Backoff of job retries; also the shape configuration reads. */
export const RetryPolicy = z
  .object({
    baseSeconds: z.number().int().min(0).default(DEFAULT_RETRY_BASE_SECONDS),
    maxSeconds: z.number().int().min(0).default(DEFAULT_RETRY_MAX_SECONDS),
    /** Up to this fraction of the delay is taken off at random, to spread retries of a burst. */
    jitterFraction: z.number().min(0).max(1).default(0),
  })
  .strict()
  .refine((policy) => policy.maxSeconds >= policy.baseSeconds, {
    message: 'maxSeconds must be at least baseSeconds',
    path: ['maxSeconds'],
  });
export type RetryPolicy = z.infer<typeof RetryPolicy>;
export type RetryPolicyInput = z.input<typeof RetryPolicy>;
