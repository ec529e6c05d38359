import { describe, expect, it } from 'vitest';
import { ErrorResponse } from '../../events/api.js';
import {
  AlreadyClaimedError,
  AlreadyExistsError,
  ConditionFailedError,
  ConfigError,
  CorruptItemError,
  NotClaimableError,
  NotFoundError,
  PilotNotLiveError,
  StaleAttemptError,
  StateConflictError,
  ValidationError,
} from '../../shared/errors/index.js';
import { DatasetInUseError, TaskSpecConflictError } from '../../shared/services/index.js';
import { errorBody, httpErrorOf, PayloadTooLargeError } from './errors.js';

describe('httpErrorOf', () => {
  it.each([
    [new ValidationError('invalid body', [{ path: 'rank', message: 'Too big' }]), 400, 'VALIDATION_FAILED'],
    [new PayloadTooLargeError(3_000_000, 2_097_152), 413, 'PAYLOAD_TOO_LARGE'],
    [new NotFoundError('task', 't-1'), 404, 'NOT_FOUND'],
    [new AlreadyClaimedError('j-1'), 409, 'ALREADY_CLAIMED'],
    [new StaleAttemptError('j-1', 0), 409, 'STALE_ATTEMPT'],
    [new NotClaimableError('j-1', 'CANCELLED'), 409, 'NOT_CLAIMABLE'],
    [new PilotNotLiveError('p-1', 'LOST'), 409, 'PILOT_NOT_LIVE'],
    [new TaskSpecConflictError('t-1', ['args']), 409, 'TASK_SPEC_CONFLICT'],
    [new DatasetInUseError('out', 'is written by task t-0'), 409, 'DATASET_IN_USE'],
    [new StateConflictError('task', 't-1', ['RUNNING']), 409, 'STATE_CONFLICT'],
    [new AlreadyExistsError('dataset', 'ds-1'), 409, 'ALREADY_EXISTS'],
    [new ConditionFailedError('task', 't-1', 'version moved'), 409, 'CONFLICT'],
  ])('answers %s with %i %s and a valid ErrorResponse', (error, status, code) => {
    const mapped = httpErrorOf(error);
    expect(mapped).toEqual({ status, body: ErrorResponse.parse(mapped?.body) });
    expect(mapped?.body.error).toMatchObject({ code, message: error.message });
  });

  it('keeps the field paths of a validation error', () => {
    const error = new ValidationError('invalid body', [
      { path: 'args[0]', message: 'must not contain control characters' },
      { path: 'extra', message: 'unknown field' },
    ]);
    expect(httpErrorOf(error)?.body.error.issues).toEqual(error.issues);
  });

  it('leaves server failures to the 500 path', () => {
    expect(httpErrorOf(new Error('socket hang up'))).toBeUndefined();
    expect(httpErrorOf(new ConfigError('TASKS_TABLE', 'missing'))).toBeUndefined();
    expect(
      httpErrorOf(new CorruptItemError('job', [{ path: 'attempt', message: 'Required' }])),
    ).toBeUndefined();
    expect(httpErrorOf('a string')).toBeUndefined();
  });
});

describe('errorBody', () => {
  it('bounds the message as ErrorResponse requires', () => {
    const body = errorBody('VALIDATION_FAILED', 'x'.repeat(10_000));
    expect(ErrorResponse.parse(body).error.message).toHaveLength(4096);
  });
});
