import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  AlreadyClaimedError,
  AlreadyExistsError,
  ConditionFailedError,
  ConfigError,
  CorruptItemError,
  InvalidTransitionError,
  NotClaimableError,
  NotFoundError,
  PilotNotLiveError,
  StaleAttemptError,
  StateConflictError,
  ValidationError,
  WmsError,
} from './index.js';

describe('domain errors', () => {
  const cause = new Error('ConditionalCheckFailedException');

  it.each([
    ['InvalidTransitionError', new InvalidTransitionError('job', 'DONE', 'READY', { cause })],
    ['ConditionFailedError', new ConditionFailedError('task', 't-1', 'version moved', { cause })],
    ['AlreadyClaimedError', new AlreadyClaimedError('j-1', { cause })],
    ['StaleAttemptError', new StaleAttemptError('j-1', 2, { cause })],
    ['StateConflictError', new StateConflictError('task', 't-1', ['REGISTERED', 'RUNNING'], { cause })],
    ['NotFoundError', new NotFoundError('dataset', 'ds-1', { cause })],
    ['AlreadyExistsError', new AlreadyExistsError('task', 't-1', { cause })],
    [
      'ValidationError',
      new ValidationError('invalid body', [{ path: 'rank', message: 'too big' }], { cause }),
    ],
    ['ConfigError', new ConfigError('JOBS_TABLE', 'is not set', { cause })],
    ['NotClaimableError', new NotClaimableError('j-1', 'CANCELLED', { cause })],
    ['PilotNotLiveError', new PilotNotLiveError('p-1', 'LOST', { cause })],
    ['CorruptItemError', new CorruptItemError('job', [{ path: 'attempt', message: 'Required' }], { cause })],
  ] as [string, WmsError][])('%s sets its name, keeps the cause and is a WmsError', (name, error) => {
    expect(error.name).toBe(name);
    expect(error.cause).toBe(cause);
    expect(error).toBeInstanceOf(WmsError);
    expect(error).toBeInstanceOf(Error);
    expect(String(error)).toContain(name);
  });

  it('groups the conditional-write failures under ConditionFailedError', () => {
    for (const error of [
      new AlreadyClaimedError('j-1'),
      new StaleAttemptError('j-1', 0),
      new StateConflictError('job', 'j-1', ['QUEUED']),
      new NotFoundError('job', 'j-1'),
      new AlreadyExistsError('job', 'j-1'),
    ]) {
      expect(error).toBeInstanceOf(ConditionFailedError);
      expect(error.id).toBe('j-1');
    }
    expect(new ValidationError('x', [])).not.toBeInstanceOf(ConditionFailedError);
  });

  it('carries the fields a caller needs', () => {
    const transition = new InvalidTransitionError('task', 'DONE', 'RUNNING');
    expect([transition.machine, transition.from, transition.to]).toEqual(['task', 'DONE', 'RUNNING']);
    expect(transition.message).toBe('task: transition DONE -> RUNNING is not allowed');
    expect(new StaleAttemptError('j-9', 3).attempt).toBe(3);
    expect(new StateConflictError('job', 'j-9', ['READY', 'QUEUED']).message).toBe(
      'job j-9 is not in state READY|QUEUED',
    );
    expect(new ConfigError('REGION', 'is not set').variable).toBe('REGION');
  });

  it('names every bad field of a zod error by its path', () => {
    const schema = z.object({ rank: z.number().max(100), inputs: z.array(z.object({ name: z.string() })) });
    const parsed = schema.safeParse({ rank: 101, inputs: [{ name: 7 }] });
    if (parsed.success) throw new Error('expected the input to be rejected');

    const error = ValidationError.fromZod('task', parsed.error);

    expect(error.cause).toBe(parsed.error);
    expect(error.issues.map((issue) => issue.path).sort()).toEqual(['inputs[0].name', 'rank']);
    expect(error.message).toMatch(/^invalid task: /);
    expect(error.message).toContain('rank: ');
  });
});

describe('CorruptItemError', () => {
  it('names the entity and every bad field of a stored item, and is no ValidationError', () => {
    const parsed = z.object({ attempt: z.number() }).safeParse({ attempt: 'one' });
    if (parsed.success) throw new Error('expected the item to be rejected');

    const error = CorruptItemError.fromZod('job', parsed.error);

    expect(error.cause).toBe(parsed.error);
    expect(error.entity).toBe('job');
    expect(error.issues.map((issue) => issue.path)).toEqual(['attempt']);
    expect(error.message).toMatch(/^stored job is corrupt: attempt: /);
    expect(error).not.toBeInstanceOf(ValidationError);
  });
});
