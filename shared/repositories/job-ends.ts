/**
 * Job changes without files: a failure or retry of a RUNNING attempt (by its claiming pilot)
 * or of a LOST one (decided by the watchdog), cancellation, and an operator's retry of a
 * FAILED job.
 */
import type { z } from 'zod';
import { ValidationError } from '../errors/index.js';
import type { PhaseTimes } from '../model/index.js';
import { STARTED_TASK_STATES } from '../states/index.js';
import { ATTEMPT_ATTRIBUTES, CANCEL_SPEC, failureSpec, retrySpec } from './job-attempt-ends.js';
import { entryOf, type JobTransitions } from './job-transitions.js';
import type { JobBatchResult, JobRef, JobStateRef } from './types.js';

/** A failure: reported by the pilot (RUNNING, with its claim token) or decided for a LOST job. */
export interface FailureRequest extends JobRef {
  from: 'RUNNING' | 'LOST';
  /** Required when `from` is RUNNING: only the claiming pilot reports on its job. */
  claimToken?: string;
  errorCode: number;
  errorMessage?: string;
  exitCode?: number;
  phaseTimes?: z.input<typeof PhaseTimes>;
}

export interface RetryRequest extends FailureRequest {
  /** The rank the next attempt is dispatched with (a retry boost), if it changes. */
  rank?: number;
  /** The next attempt is not dispatched before this time (its backoff); at once when absent. */
  retryAfter?: string;
}

function requireClaimToken(request: FailureRequest): void {
  if (request.from === 'RUNNING' && request.claimToken === undefined) {
    throw new ValidationError('invalid job report', [
      { path: 'claimToken', message: 'is required to report on a RUNNING job' },
    ]);
  }
}

export class JobEnds {
  readonly #transitions: JobTransitions;

  constructor(transitions: JobTransitions) {
    this.#transitions = transitions;
  }

  /** RUNNING|LOST → FAILED (retries exhausted or not retryable). False if already failed. */
  async fail(request: FailureRequest): Promise<boolean> {
    requireClaimToken(request);
    return this.#transitions.transitionOne(
      entryOf(request, request.from, { claimToken: request.claimToken }),
      failureSpec(request),
    );
  }

  /**
   * RUNNING|LOST → READY with attempt + 1: the claim is dropped, the error of the failed
   * attempt kept, and `retryAfter` set to the backoff (or removed). False when the next
   * attempt exists already (a repeated request).
   */
  async retry(request: RetryRequest): Promise<boolean> {
    requireClaimToken(request);
    return this.#transitions.transitionOne(
      entryOf(request, request.from, { claimToken: request.claimToken }),
      retrySpec(request),
    );
  }

  /** READY|QUEUED|RUNNING|LOST → CANCELLED. RUNNING ones still need their payload killed. */
  async cancel(jobs: readonly JobStateRef[]): Promise<JobBatchResult> {
    return this.#transitions.transition(
      jobs.map((job) => entryOf(job, job.from)),
      CANCEL_SPEC,
    );
  }

  /**
   * FAILED → READY with attempt + 1: an operator's retry (wms retry). Only while the task is
   * RUNNING or HELD (checked by its counter update); the failed attempt's error is kept until
   * the next attempt ends. A job already retried (attempt + 1) is `unchanged`.
   */
  async retryFailed(jobs: readonly JobRef[]): Promise<JobBatchResult> {
    return this.#transitions.transition(
      jobs.map((job) => entryOf(job, 'FAILED')),
      {
        to: 'READY',
        changes: (entry) => ({
          set: { attempt: entry.attempt + 1 },
          remove: [...ATTEMPT_ATTRIBUTES, 'endedAt'],
        }),
        isRepeat: (entry, current) => current.attempt === entry.attempt + 1,
        taskStates: STARTED_TASK_STATES,
      },
    );
  }
}
