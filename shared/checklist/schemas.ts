import { z } from 'zod';
import {
  DEFAULT_CLOSE_BASE_SECONDS,
  DEFAULT_CLOSE_MAX_ATTEMPTS,
  DEFAULT_CLOSE_MAX_SECONDS,
  SQS_MAX_VISIBILITY_SECONDS,
} from './constants.js';

/** How a dataset.close whose checklist does not match yet is retried; also the shape configuration reads. */
export const CloseDeferralPolicy = z
  .object({
    baseSeconds: z.number().int().min(1).max(SQS_MAX_VISIBILITY_SECONDS).default(DEFAULT_CLOSE_BASE_SECONDS),
    maxSeconds: z.number().int().min(1).max(SQS_MAX_VISIBILITY_SECONDS).default(DEFAULT_CLOSE_MAX_SECONDS),
    /** Receives after which the message is dead-lettered with its mismatch. */
    maxAttempts: z.number().int().min(1).default(DEFAULT_CLOSE_MAX_ATTEMPTS),
  })
  .strict()
  .refine((policy) => policy.maxSeconds >= policy.baseSeconds, {
    message: 'maxSeconds must be at least baseSeconds',
    path: ['maxSeconds'],
  });
export type CloseDeferralPolicy = z.infer<typeof CloseDeferralPolicy>;
export type CloseDeferralPolicyInput = z.input<typeof CloseDeferralPolicy>;
