import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JobProgressMessage, PilotStatusMessage } from '../../events/pilot.js';
import { jobResult } from '../test-support/factories.js';
import { enqueueCoalesced, nextBatchSize } from './outbox.js';

describe('nextBatchSize', () => {
  it('takes up to the entry limit while the bytes fit', () => {
    expect(nextBatchSize([1, 1, 1], 10, 100)).toBe(3);
    expect(nextBatchSize(Array(15).fill(1), 10, 100)).toBe(10);
    expect(nextBatchSize([40, 40, 40], 10, 100)).toBe(2);
    expect(nextBatchSize([], 10, 100)).toBe(0);
  });

  it('sends a body too large for any batch alone, so it cannot block the others', () => {
    expect(nextBatchSize([500, 1], 10, 100)).toBe(1);
  });

  it('always takes at least one and stays within both limits otherwise', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 30 }), (sizes) => {
        const count = nextBatchSize(sizes, 10, 256);
        const bytes = sizes.slice(0, count).reduce((sum, size) => sum + size, 0);
        expect(count).toBeGreaterThanOrEqual(1);
        expect(count).toBeLessThanOrEqual(10);
        if (count > 1) expect(bytes).toBeLessThanOrEqual(256);
        if (count < Math.min(10, sizes.length)) expect(bytes + sizes[count]!).toBeGreaterThan(256);
      }),
    );
  });
});

const PHASES = ['CLAIMED', 'STAGE_IN', 'EXECUTING', 'STAGE_OUT'] as const;

function progress(
  jobId: string,
  phase: JobProgressMessage['phase'],
  attempt = 0,
): { message: PilotStatusMessage } {
  const {
    outcome: _o,
    errorCode: _e,
    exitCode: _x,
    outputs: _out,
    phaseTimes: _p,
    wallMs: _w,
    ...base
  } = jobResult({
    jobId,
    attempt,
  });
  return { message: { ...base, type: 'job.progress', phase } };
}

function result(jobId: string, attempt = 0): { message: PilotStatusMessage } {
  return { message: jobResult({ jobId, attempt }) };
}

function describeQueue(pending: readonly { message: PilotStatusMessage }[]): string[] {
  return pending.map(({ message }) =>
    message.type === 'job.progress'
      ? `${message.jobId}.${message.attempt} ${message.phase}`
      : `${message.jobId}.${message.attempt} result`,
  );
}

describe('enqueueCoalesced', () => {
  it('keeps only the latest phase of an attempt, in the place of the first', () => {
    // Prepare
    const pending: { message: PilotStatusMessage }[] = [];
    // Act
    enqueueCoalesced(pending, 0, progress('j-a', 'CLAIMED'));
    enqueueCoalesced(pending, 0, progress('j-b', 'CLAIMED'));
    enqueueCoalesced(pending, 0, progress('j-a', 'STAGE_IN'));
    enqueueCoalesced(pending, 0, progress('j-a', 'CLAIMED', 1));
    // Assess
    expect(describeQueue(pending)).toEqual(['j-a.0 STAGE_IN', 'j-b.0 CLAIMED', 'j-a.1 CLAIMED']);
  });

  it("drops an attempt's waiting progress when its result comes, and keeps every result", () => {
    const pending: { message: PilotStatusMessage }[] = [];
    enqueueCoalesced(pending, 0, progress('j-a', 'EXECUTING'));
    enqueueCoalesced(pending, 0, progress('j-b', 'EXECUTING'));
    enqueueCoalesced(pending, 0, result('j-a'));
    enqueueCoalesced(pending, 0, result('j-a'));
    expect(describeQueue(pending)).toEqual(['j-b.0 EXECUTING', 'j-a.0 result', 'j-a.0 result']);
  });

  it('leaves the entries being sent as they are', () => {
    const pending = [progress('j-a', 'CLAIMED'), progress('j-b', 'CLAIMED')];
    enqueueCoalesced(pending, 1, progress('j-a', 'STAGE_IN'));
    enqueueCoalesced(pending, 1, result('j-b'));
    expect(describeQueue(pending)).toEqual(['j-a.0 CLAIMED', 'j-a.0 STAGE_IN', 'j-b.0 result']);
  });

  it('never loses a result or reorders results, and holds at most one waiting progress per attempt', () => {
    const event = fc.record({
      job: fc.constantFrom('j-a', 'j-b', 'j-c'),
      attempt: fc.integer({ min: 0, max: 1 }),
      phase: fc.option(fc.constantFrom(...PHASES), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(event, { maxLength: 40 }), fc.nat({ max: 5 }), (events, sendingWanted) => {
        const pending: { message: PilotStatusMessage }[] = [];
        const results: string[] = [];
        for (const { job, attempt, phase } of events) {
          const sending = Math.min(sendingWanted, pending.length);
          const entry = phase === undefined ? result(job, attempt) : progress(job, phase, attempt);
          if (phase === undefined) results.push(`${job}.${attempt} result`);
          enqueueCoalesced(pending, sending, entry);
        }
        const queued = describeQueue(pending);
        expect(queued.filter((line) => line.endsWith('result'))).toEqual(results);
        const waitingProgress = queued
          .slice(Math.min(sendingWanted, queued.length))
          .filter((line) => !line.endsWith('result'));
        const attempts = waitingProgress.map((line) => line.split(' ')[0]);
        expect(new Set(attempts).size).toBe(attempts.length);
      }),
    );
  });
});
