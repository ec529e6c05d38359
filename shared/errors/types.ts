import type { ERROR_CATEGORIES, ERRORS } from './constants.js';

/** The part of the system where a failure happened. */
export type ErrorCategory = (typeof ERROR_CATEGORIES)[number];

/** One entry of the error-code registry. */
export interface ErrorEntry {
  /** Stable numeric code carried in job results and records; 0 means success. */
  readonly code: number;
  /** Stable UPPER_SNAKE name, prefixed by the category. */
  readonly name: string;
  readonly message: string;
  /** Whether running the job again may succeed. */
  readonly retryable: boolean;
  /** `null` only for `OK`, which is not a failure. */
  readonly category: ErrorCategory | null;
}

export type ErrorName = keyof typeof ERRORS;

/** Why the pilot itself stopped a payload, if it did. */
export type PayloadKillReason = 'walltime' | 'cancel' | 'shutdown' | 'disk-quota';

/** How a payload process ended, as the pilot observed it. */
export interface PayloadExit {
  /** The exit status, or null when the process ended by a signal. */
  exitCode: number | null;
  /** The signal name (e.g. `SIGSEGV`), or null when the process exited. */
  signal: string | null;
  /** Set when the pilot sent the signal, which decides the code whatever the exit status. */
  killedFor: PayloadKillReason | null;
}
