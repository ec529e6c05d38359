/**
 * What each end of an attempt changes on its job — DONE, FAILED, READY (retried) or
 * CANCELLED — as transition specs for job-transitions.ts.
 */
import { z } from 'zod';
import { LIMITS, OutputFile, PhaseTimes, Timestamp } from '../model/index.js';
import { checked, type TransitionSpec } from './job-transitions.js';

/** How a RUNNING attempt ends, as its pilot's result decides. */
export type AttemptEnd =
  | {
      to: 'DONE';
      outputs: z.input<typeof OutputFile>[];
      exitCode?: number;
      phaseTimes?: z.input<typeof PhaseTimes>;
    }
  | ({ to: 'FAILED' } & FailureDetails)
  | ({ to: 'READY'; retryAfter?: string } & FailureDetails)
  | { to: 'CANCELLED' };

/** What a failed attempt leaves on its job. */
export interface FailureDetails {
  errorCode: number;
  errorMessage?: string;
  exitCode?: number;
  phaseTimes?: z.input<typeof PhaseTimes>;
}

export const OutputFiles = z.array(OutputFile).max(LIMITS.outputsPerJob);

/** What an attempt leaves on its job that the next attempt must not carry. */
export const ATTEMPT_ATTRIBUTES = [
  'pilotId',
  'claimToken',
  'claimRequestId',
  'phase',
  'phaseTimes',
  'queuedAt',
  'startedAt',
  'retryAfter',
] as const;

function failureAttributes(failure: FailureDetails) {
  return {
    errorCode: failure.errorCode,
    errorMessage: failure.errorMessage,
    exitCode: failure.exitCode,
    phaseTimes:
      failure.phaseTimes === undefined ? undefined : checked(PhaseTimes, failure.phaseTimes, 'phase times'),
  };
}

function checkedRetryAfter(retryAfter: string | undefined): string | undefined {
  return retryAfter === undefined ? undefined : checked(Timestamp, retryAfter, 'retryAfter');
}

/** RUNNING → DONE with the outputs, by the claiming pilot. */
export function completionSpec(end: Extract<AttemptEnd, { to: 'DONE' }>): TransitionSpec {
  const outputs = checked(OutputFiles, end.outputs, 'job outputs');
  const phaseTimes =
    end.phaseTimes === undefined ? undefined : checked(PhaseTimes, end.phaseTimes, 'phase times');
  return {
    to: 'DONE',
    changes: (_entry, now) => ({
      set: { outputs, exitCode: end.exitCode, phaseTimes, errorCode: 0, endedAt: now },
      remove: ['phase'],
    }),
    isRepeat: (job, current) =>
      current.state === 'DONE' && current.attempt === job.attempt && current.claimToken === job.claimToken,
  };
}

/** → FAILED, keeping the error of the attempt. */
export function failureSpec(failure: FailureDetails): TransitionSpec {
  const attributes = failureAttributes(failure);
  return {
    to: 'FAILED',
    changes: (_entry, now) => ({ set: { ...attributes, endedAt: now }, remove: ['phase'] }),
    isRepeat: (entry, current) => current.state === 'FAILED' && current.attempt === entry.attempt,
  };
}

/** → READY with attempt + 1: the claim is dropped, the error of the failed attempt kept. */
export function retrySpec(failure: FailureDetails & { rank?: number; retryAfter?: string }): TransitionSpec {
  const { errorCode, errorMessage, exitCode } = failureAttributes(failure);
  const retryAfter = checkedRetryAfter(failure.retryAfter);
  return {
    to: 'READY',
    changes: (entry) => ({
      set: { attempt: entry.attempt + 1, errorCode, errorMessage, exitCode, rank: failure.rank, retryAfter },
      remove: [...ATTEMPT_ATTRIBUTES],
    }),
    isRepeat: (entry, current) => current.attempt === entry.attempt + 1,
  };
}

export const CANCEL_SPEC: TransitionSpec = {
  to: 'CANCELLED',
  changes: (_entry, now) => ({ set: { endedAt: now }, remove: ['phase'] }),
  isRepeat: (entry, current) => current.state === 'CANCELLED' && current.attempt === entry.attempt,
};

export function endSpec(end: AttemptEnd): TransitionSpec {
  switch (end.to) {
    case 'DONE':
      return completionSpec(end);
    case 'FAILED':
      return failureSpec(end);
    case 'READY':
      return retrySpec(end);
    case 'CANCELLED':
      return CANCEL_SPEC;
  }
}
