import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JOB_STATES, type JobState, PILOT_STATES, TASK_STATES } from '../model/index.js';
import {
  OPERATOR_TRANSITIONS,
  TERMINAL_JOB_STATES,
  TERMINAL_PILOT_STATES,
  TERMINAL_TASK_STATES,
} from './constants.js';
import { allowedFrom, canTransition } from './machine.js';
import {
  CANCELLABLE_JOB_STATES,
  CLAIMABLE_JOB_STATES,
  DISPATCHING_TASK_STATES,
  GENERATING_TASK_STATES,
  IN_FLIGHT_JOB_STATES,
  isOneOf,
  LIVE_PILOT_STATES,
  OPERATOR_RETRYABLE_JOB_STATES,
  SLOT_FREE_JOB_STATES,
  SLOT_TAKING_JOB_STATES,
  STARTED_TASK_STATES,
  UNFINISHED_JOB_STATES,
  UNFINISHED_TASK_STATES,
  WAITING_JOB_STATES,
} from './sets.js';

/** The states from which the job machine allows `to`. */
function jobStatesLeadingTo(to: JobState): JobState[] {
  return JOB_STATES.filter((from) => canTransition('job', from, to));
}

const sorted = (states: readonly string[]) => [...states].sort();

describe('named job-state sets', () => {
  it('split every state into exactly one of unfinished and terminal', () => {
    fc.assert(
      fc.property(fc.constantFrom(...JOB_STATES), (state) => {
        expect(isOneOf(UNFINISHED_JOB_STATES, state)).toBe(!isOneOf(TERMINAL_JOB_STATES, state));
      }),
    );
    expect(sorted([...UNFINISHED_JOB_STATES, ...TERMINAL_JOB_STATES])).toEqual(sorted(JOB_STATES));
  });

  it('split every state into exactly one of in flight, READY and terminal', () => {
    const partition = [IN_FLIGHT_JOB_STATES, ['READY'], TERMINAL_JOB_STATES] as const;
    for (const state of JOB_STATES) {
      expect(
        partition.filter((set) => isOneOf(set, state)),
        state,
      ).toHaveLength(1);
    }
  });

  it('split every state into exactly one of slot-taking and slot-free', () => {
    for (const state of JOB_STATES) {
      expect(isOneOf(SLOT_TAKING_JOB_STATES, state)).toBe(!isOneOf(SLOT_FREE_JOB_STATES, state));
    }
  });

  it('keep terminal jobs out of every set of jobs still to run or watch', () => {
    for (const set of [
      UNFINISHED_JOB_STATES,
      IN_FLIGHT_JOB_STATES,
      SLOT_TAKING_JOB_STATES,
      WAITING_JOB_STATES,
      CLAIMABLE_JOB_STATES,
      CANCELLABLE_JOB_STATES,
    ]) {
      expect(set.filter((state) => isOneOf(TERMINAL_JOB_STATES, state))).toEqual([]);
    }
  });

  it('tell the two meanings apart: in flight is unfinished but for READY, which was never sent', () => {
    expect(sorted(IN_FLIGHT_JOB_STATES)).toEqual(sorted(UNFINISHED_JOB_STATES.filter((s) => s !== 'READY')));
    expect(sorted(WAITING_JOB_STATES)).toEqual(sorted(UNFINISHED_JOB_STATES.filter((s) => s !== 'RUNNING')));
  });

  it('agree with the state machine on who may be claimed, cancelled and retried by an operator', () => {
    expect(sorted(CLAIMABLE_JOB_STATES)).toEqual(jobStatesLeadingTo('RUNNING'));
    expect(sorted(CANCELLABLE_JOB_STATES)).toEqual(sorted(jobStatesLeadingTo('CANCELLED')));
    expect(sorted(CANCELLABLE_JOB_STATES)).toEqual(sorted(UNFINISHED_JOB_STATES));
    const operatorRetries = Object.entries(OPERATOR_TRANSITIONS.job)
      .filter(([, targets]) => targets?.includes('READY'))
      .map(([from]) => from);
    expect(sorted(OPERATOR_RETRYABLE_JOB_STATES)).toEqual(sorted(operatorRetries));
  });

  it('sweep a cancel RUNNING first and QUEUED before READY', () => {
    expect(CANCELLABLE_JOB_STATES[0]).toBe('RUNNING');
    expect(CANCELLABLE_JOB_STATES.indexOf('QUEUED')).toBeLessThan(CANCELLABLE_JOB_STATES.indexOf('READY'));
  });

  it('are each the same set once: no duplicates', () => {
    for (const set of [
      UNFINISHED_JOB_STATES,
      IN_FLIGHT_JOB_STATES,
      SLOT_TAKING_JOB_STATES,
      SLOT_FREE_JOB_STATES,
      WAITING_JOB_STATES,
      CANCELLABLE_JOB_STATES,
    ]) {
      expect(new Set(set).size).toBe(set.length);
    }
  });
});

describe('named task and pilot state sets', () => {
  it('split the task states into unfinished and final ones', () => {
    expect([...UNFINISHED_TASK_STATES, ...TERMINAL_TASK_STATES].sort()).toEqual([...TASK_STATES].sort());
    expect(UNFINISHED_TASK_STATES).toEqual(['REGISTERED', 'RUNNING', 'HELD']);
    for (const state of STARTED_TASK_STATES) expect(UNFINISHED_TASK_STATES).toContain(state);
  });

  it('hold only states that are not final', () => {
    for (const set of [STARTED_TASK_STATES, GENERATING_TASK_STATES, DISPATCHING_TASK_STATES]) {
      for (const state of set) {
        expect(TASK_STATES).toContain(state);
        expect(TERMINAL_TASK_STATES).not.toContain(state);
      }
    }
    for (const state of LIVE_PILOT_STATES) {
      expect(PILOT_STATES).toContain(state);
      expect(TERMINAL_PILOT_STATES).not.toContain(state);
      expect(allowedFrom('pilot', state)).toContain('LOST');
    }
  });

  it('dispatch only for tasks that are started and still generating or generated', () => {
    for (const state of DISPATCHING_TASK_STATES) {
      expect(STARTED_TASK_STATES).toContain(state);
      expect(GENERATING_TASK_STATES).toContain(state);
    }
  });
});

describe('isOneOf', () => {
  it('says whether a state is in a set, for any string', () => {
    fc.assert(
      fc.property(fc.oneof(fc.constantFrom(...JOB_STATES), fc.string()), (state) => {
        expect(isOneOf(IN_FLIGHT_JOB_STATES, state)).toBe(
          state === 'QUEUED' || state === 'RUNNING' || state === 'LOST',
        );
      }),
    );
  });
});
