import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ERROR_LIST, ERRORS, ValidationError } from '../errors/index.js';
import { decideRetry, planRetry, RetryPolicy, retryAfterOf, retryDelaySeconds } from './index.js';

const retryableCodes = ERROR_LIST.filter((entry) => entry.retryable).map((entry) => entry.code);
const nonRetryableCodes = ERROR_LIST.filter((entry) => !entry.retryable).map((entry) => entry.code);

describe('decideRetry', () => {
  it('retries a retryable failure with attempt + 1 and the default backoff 5 s · 2^attempt', () => {
    expect(decideRetry({ errorCode: ERRORS.PAYLOAD_NONZERO_EXIT.code, attempt: 0, maxRetries: 3 })).toEqual({
      action: 'retry',
      nextAttempt: 1,
      delaySeconds: 5,
    });
    expect(
      decideRetry({ errorCode: ERRORS.STAGE_OUT_UPLOAD_FAILED.code, attempt: 2, maxRetries: 3 }),
    ).toEqual({
      action: 'retry',
      nextAttempt: 3,
      delaySeconds: 20,
    });
  });

  it('retries a lost attempt at once, counted like any other', () => {
    expect(decideRetry({ errorCode: ERRORS.LOST_HEARTBEAT.code, attempt: 2, maxRetries: 3 })).toEqual({
      action: 'retry',
      nextAttempt: 3,
      delaySeconds: 0,
    });
    expect(decideRetry({ errorCode: ERRORS.LOST_UNREPORTED.code, attempt: 3, maxRetries: 3 })).toEqual({
      action: 'fail',
      reason: 'retries-exhausted',
    });
  });

  it('caps the delay at 300 s by default', () => {
    const decision = decideRetry({
      errorCode: ERRORS.STAGE_IN_DOWNLOAD_FAILED.code,
      attempt: 10,
      maxRetries: 20,
    });
    expect(decision).toEqual({ action: 'retry', nextAttempt: 11, delaySeconds: 300 });
  });

  it('fails once attempt + 1 would exceed maxRetries', () => {
    expect(decideRetry({ errorCode: ERRORS.PAYLOAD_NONZERO_EXIT.code, attempt: 3, maxRetries: 3 })).toEqual({
      action: 'fail',
      reason: 'retries-exhausted',
    });
    expect(decideRetry({ errorCode: ERRORS.PAYLOAD_NONZERO_EXIT.code, attempt: 0, maxRetries: 0 })).toEqual({
      action: 'fail',
      reason: 'retries-exhausted',
    });
  });

  it('fails at once on a non-retryable or unknown code', () => {
    expect(decideRetry({ errorCode: ERRORS.KILLED_CANCELLED.code, attempt: 0, maxRetries: 5 })).toEqual({
      action: 'fail',
      reason: 'not-retryable',
    });
    expect(decideRetry({ errorCode: 999_999, attempt: 0, maxRetries: 5 })).toEqual({
      action: 'fail',
      reason: 'unknown-error-code',
    });
  });

  it('uses the policy it is given', () => {
    const policy = { baseSeconds: 2, maxSeconds: 10 };
    const delays = [0, 1, 2, 3, 4].map((attempt) => {
      const decision = decideRetry({
        errorCode: ERRORS.PILOT_SHUTDOWN.code,
        attempt,
        maxRetries: 10,
        policy,
      });
      return decision.action === 'retry' ? decision.delaySeconds : -1;
    });
    expect(delays).toEqual([2, 4, 8, 10, 10]);
  });

  it('takes up to the jitter fraction off the delay, from the injected random source', () => {
    const policy = { baseSeconds: 10, maxSeconds: 1000, jitterFraction: 0.5 };
    const at = (random: number) =>
      decideRetry({
        errorCode: ERRORS.PILOT_SHUTDOWN.code,
        attempt: 2,
        maxRetries: 5,
        policy,
        random: () => random,
      });
    expect(at(0)).toEqual({ action: 'retry', nextAttempt: 3, delaySeconds: 40 });
    expect(at(0.5)).toEqual({ action: 'retry', nextAttempt: 3, delaySeconds: 30 });
    expect(at(0.999)).toEqual({ action: 'retry', nextAttempt: 3, delaySeconds: 20 });
  });

  it('refuses a bad attempt, maxRetries or policy', () => {
    const code = ERRORS.PILOT_SHUTDOWN.code;
    expect(() => decideRetry({ errorCode: code, attempt: -1, maxRetries: 3 })).toThrow(ValidationError);
    expect(() => decideRetry({ errorCode: code, attempt: 0.5, maxRetries: 3 })).toThrow(/attempt/);
    expect(() => decideRetry({ errorCode: code, attempt: 0, maxRetries: Number.NaN })).toThrow(/maxRetries/);
    expect(() =>
      decideRetry({ errorCode: code, attempt: 0, maxRetries: 3, policy: { baseSeconds: 10, maxSeconds: 5 } }),
    ).toThrow(/maxSeconds/);
    expect(() =>
      decideRetry({
        errorCode: code,
        attempt: 0,
        maxRetries: 3,
        policy: { baseSeconds: 1, jitterFraction: 2 },
      }),
    ).toThrow(/jitterFraction/);
  });

  it('never retries past maxRetries, and a non-retryable code never', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ERROR_LIST.map((entry) => entry.code)),
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 0, max: 20 }),
        (errorCode, attempt, maxRetries) => {
          const decision = decideRetry({ errorCode, attempt, maxRetries });
          if (decision.action === 'retry') {
            expect(decision.nextAttempt).toBe(attempt + 1);
            expect(decision.nextAttempt).toBeLessThanOrEqual(maxRetries);
            expect(retryableCodes).toContain(errorCode);
          } else {
            expect(nonRetryableCodes.includes(errorCode) || attempt + 1 > maxRetries).toBe(true);
          }
        },
      ),
    );
  });

  it('retries every retryable code while attempts remain', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...retryableCodes),
        fc.integer({ min: 1, max: 20 }),
        (errorCode, maxRetries) => {
          for (let attempt = 0; attempt < maxRetries; attempt += 1) {
            expect(decideRetry({ errorCode, attempt, maxRetries }).action).toBe('retry');
          }
        },
      ),
    );
  });
});

describe('retryDelaySeconds', () => {
  const policyArb = fc
    .tuple(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 5000 }))
    .map(([base, extra]) => RetryPolicy.parse({ baseSeconds: base, maxSeconds: base + extra }));

  it('is monotone in the attempt and capped by maxSeconds', () => {
    fc.assert(
      fc.property(policyArb, fc.integer({ min: 0, max: 2000 }), (policy, attempt) => {
        const delay = retryDelaySeconds(attempt, policy);
        expect(delay).toBeLessThanOrEqual(policy.maxSeconds);
        expect(delay).toBeGreaterThanOrEqual(Math.min(policy.baseSeconds, policy.maxSeconds));
        expect(retryDelaySeconds(attempt + 1, policy)).toBeGreaterThanOrEqual(delay);
        expect(Number.isInteger(delay)).toBe(true);
      }),
    );
  });

  it('with jitter stays between (1 - fraction) of the delay and the delay', () => {
    fc.assert(
      fc.property(
        policyArb,
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.integer({ min: 0, max: 30 }),
        (basePolicy, jitterFraction, random, attempt) => {
          const policy = { ...basePolicy, jitterFraction };
          const plain = retryDelaySeconds(attempt, basePolicy);
          const jittered = retryDelaySeconds(attempt, policy, () => random);
          expect(jittered).toBeLessThanOrEqual(plain);
          expect(jittered).toBeGreaterThanOrEqual(Math.floor(plain * (1 - jitterFraction)));
        },
      ),
    );
  });
});

describe('retryAfterOf', () => {
  it('is the delay after now', () => {
    expect(retryAfterOf(new Date('2025-01-01T00:00:00.000Z'), 40)).toBe('2025-01-01T00:00:40.000Z');
  });
});

describe('planRetry', () => {
  const LOST_CODES = [ERRORS.LOST_HEARTBEAT.code, ERRORS.LOST_UNREPORTED.code];
  const policyArb = fc
    .tuple(
      fc.integer({ min: 0, max: 600 }),
      fc.integer({ min: 0, max: 3600 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
    )
    .map(([base, extra, jitterFraction]) => ({
      baseSeconds: base,
      maxSeconds: base + extra,
      jitterFraction,
    }));
  const nowArb = fc.date({
    min: new Date('2020-01-01T00:00:00.000Z'),
    max: new Date('2040-01-01T00:00:00.000Z'),
    noInvalidDate: true,
  });

  it('decides as decideRetry and dispatches the retry no earlier than its backoff after now', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ERROR_LIST.map((entry) => entry.code)),
        fc.integer({ min: 0, max: 30 }),
        fc.integer({ min: 0, max: 30 }),
        policyArb,
        nowArb,
        fc.double({ min: 0, max: 1, maxExcluded: true }),
        (errorCode, attempt, maxRetries, policy, now, draw) => {
          const random = () => draw;
          const plan = planRetry({ errorCode, attempt, maxRetries, policy, now, random });
          const decision = decideRetry({ errorCode, attempt, maxRetries, policy, random });
          if (decision.action === 'fail') {
            expect(plan).toEqual(decision);
            return;
          }
          expect(plan).toEqual({ ...decision, retryAfter: retryAfterOf(now, decision.delaySeconds) });
          const waitSeconds =
            (Date.parse((plan as { retryAfter: string }).retryAfter) - now.getTime()) / 1000;
          expect(waitSeconds).toBeLessThanOrEqual(
            Math.min(policy.maxSeconds, policy.baseSeconds * 2 ** attempt),
          );
          expect(waitSeconds).toBeGreaterThanOrEqual(0);
        },
      ),
    );
  });

  it('counts a LOST attempt against maxRetries as any retryable failure, and retries it at once', () => {
    const retryableCode = ERRORS.PAYLOAD_NONZERO_EXIT.code;
    fc.assert(
      fc.property(
        fc.constantFrom(...LOST_CODES),
        fc.integer({ min: 0, max: 30 }),
        fc.integer({ min: 0, max: 30 }),
        policyArb,
        nowArb,
        (lostCode, attempt, maxRetries, policy, now) => {
          const random = () => 0.5;
          const lost = planRetry({ errorCode: lostCode, attempt, maxRetries, policy, now, random });
          const reported = planRetry({ errorCode: retryableCode, attempt, maxRetries, policy, now, random });
          expect(lost.action).toBe(reported.action);
          expect(lost.action).toBe(attempt + 1 <= maxRetries ? 'retry' : 'fail');
          if (lost.action === 'fail') expect(lost).toEqual(reported);
          else expect(lost).toEqual({ ...reported, delaySeconds: 0, retryAfter: now.toISOString() });
        },
      ),
    );
  });
});
