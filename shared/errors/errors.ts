import type { z } from 'zod';
import { formatIssues } from './zod-issues.js';

/**
 * Root of the domain errors. Each failure kind is its own class with `name` set (bundlers
 * may rename classes, so the name is a literal) and the original error kept as `cause`.
 */
export class WmsError extends Error {
  override readonly name: string = 'WmsError';
}

/** A state change the state machine does not allow. */
export class InvalidTransitionError extends WmsError {
  override readonly name: string = 'InvalidTransitionError';
  constructor(
    readonly machine: string,
    readonly from: string,
    readonly to: string,
    options?: ErrorOptions,
  ) {
    super(`${machine}: transition ${from} -> ${to} is not allowed`, options);
  }
}

/** A conditional write was refused because the item is not as the writer expected. */
export class ConditionFailedError extends WmsError {
  override readonly name: string = 'ConditionFailedError';
  constructor(
    readonly entity: string,
    readonly id: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A claim on a job another pilot (or an earlier delivery) has already claimed. */
export class AlreadyClaimedError extends ConditionFailedError {
  override readonly name: string = 'AlreadyClaimedError';
  constructor(jobId: string, options?: ErrorOptions) {
    super('job', jobId, `job ${jobId} is already claimed or no longer queued`, options);
  }
}

/** A claim on a job that is neither QUEUED nor running: cancelled, finished, lost or back to READY. */
export class NotClaimableError extends ConditionFailedError {
  override readonly name: string = 'NotClaimableError';
  constructor(
    jobId: string,
    readonly state: string,
    options?: ErrorOptions,
  ) {
    super('job', jobId, `job ${jobId} is ${state}, not QUEUED`, options);
  }
}

/** A change carrying an attempt number the job has moved past (a stale or duplicate message). */
export class StaleAttemptError extends ConditionFailedError {
  override readonly name: string = 'StaleAttemptError';
  constructor(
    jobId: string,
    readonly attempt: number,
    options?: ErrorOptions,
  ) {
    super('job', jobId, `job ${jobId}: attempt ${attempt} is not the current attempt`, options);
  }
}

/** An item that is not in any of the states the change expects. */
export class StateConflictError extends ConditionFailedError {
  override readonly name: string = 'StateConflictError';
  constructor(
    entity: string,
    id: string,
    readonly expected: readonly string[],
    options?: ErrorOptions,
  ) {
    super(entity, id, `${entity} ${id} is not in state ${expected.join('|')}`, options);
  }
}

/** A pilot that is not ACTIVE or IDLE (LOST, EXITED, or unknown when `state` is undefined): it may not work. */
export class PilotNotLiveError extends StateConflictError {
  override readonly name: string = 'PilotNotLiveError';
  constructor(
    pilotId: string,
    readonly state: string | undefined,
    options?: ErrorOptions,
  ) {
    super('pilot', pilotId, ['ACTIVE', 'IDLE'], options);
  }
}

/** An item that does not exist. */
export class NotFoundError extends ConditionFailedError {
  override readonly name: string = 'NotFoundError';
  constructor(entity: string, id: string, options?: ErrorOptions) {
    super(entity, id, `${entity} ${id} not found`, options);
  }
}

/** An item created twice. */
export class AlreadyExistsError extends ConditionFailedError {
  override readonly name: string = 'AlreadyExistsError';
  constructor(entity: string, id: string, options?: ErrorOptions) {
    super(entity, id, `${entity} ${id} already exists`, options);
  }
}

/** One problem found in an input, named by its field path (e.g. `inputs.0.name`). */
export interface ValidationIssue {
  path: string;
  message: string;
}

/** Input that failed validation; `issues` name every bad field. */
export class ValidationError extends WmsError {
  override readonly name: string = 'ValidationError';
  constructor(
    message: string,
    readonly issues: readonly ValidationIssue[],
    options?: ErrorOptions,
  ) {
    super(
      `${message}: ${issues.map((issue) => `${issue.path || '(root)'}: ${issue.message}`).join('; ')}`,
      options,
    );
  }

  /** Wraps a zod error, keeping it as the cause; `subject` names what was validated. */
  static fromZod(subject: string, error: z.ZodError): ValidationError {
    return new ValidationError(`invalid ${subject}`, formatIssues(error), { cause: error });
  }
}

/**
 * A stored item that does not parse with its record schema: the table holds what no writer of
 * this code wrote. It is the server's failure, never the caller's, so it is not a ValidationError.
 */
export class CorruptItemError extends WmsError {
  override readonly name: string = 'CorruptItemError';
  constructor(
    readonly entity: string,
    readonly issues: readonly ValidationIssue[],
    options?: ErrorOptions,
  ) {
    super(
      `stored ${entity} is corrupt: ${issues.map((issue) => `${issue.path || '(root)'}: ${issue.message}`).join('; ')}`,
      options,
    );
  }

  /** Wraps the zod error of a stored item, keeping it as the cause. */
  static fromZod(entity: string, error: z.ZodError): CorruptItemError {
    return new CorruptItemError(entity, formatIssues(error), { cause: error });
  }
}

/** Configuration that is missing or malformed; `variable` names the setting. */
export class ConfigError extends WmsError {
  override readonly name: string = 'ConfigError';
  constructor(
    readonly variable: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`${variable}: ${message}`, options);
  }
}

// --- Pilot identity -------------------------------------------------------------------------

/** A caller acting for a pilot that another identity registered: it may not act for it. */
export class PilotIdentityMismatchError extends WmsError {
  override readonly name: string = 'PilotIdentityMismatchError';
  constructor(
    readonly pilotId: string,
    options?: ErrorOptions,
  ) {
    super(`pilot ${pilotId} was registered by another identity; only that identity may act for it`, options);
  }
}
