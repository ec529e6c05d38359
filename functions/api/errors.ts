/** How a failure becomes an HTTP error: status, stable code and, for a 400, the bad fields. */
import type { ErrorResponse } from '../../events/index.js';
import {
  AlreadyClaimedError,
  AlreadyExistsError,
  ConditionFailedError,
  NotClaimableError,
  NotFoundError,
  PilotIdentityMismatchError,
  PilotNotLiveError,
  StaleAttemptError,
  StateConflictError,
  ValidationError,
  WmsError,
} from '../../shared/errors/index.js';
import { DatasetInUseError, TaskSpecConflictError } from '../../shared/services/index.js';

/** A request body larger than the API accepts. */
export class PayloadTooLargeError extends WmsError {
  override readonly name: string = 'PayloadTooLargeError';
  constructor(
    readonly sizeBytes: number,
    readonly maxBytes: number,
  ) {
    super(`the request body is ${sizeBytes} bytes; at most ${maxBytes} are accepted`);
  }
}

/** A body sent as anything but JSON: the API reads only `application/json`. */
export class UnsupportedMediaTypeError extends WmsError {
  override readonly name: string = 'UnsupportedMediaTypeError';
  constructor(readonly contentType: string | undefined) {
    super(
      contentType === undefined
        ? 'the request has a body but no Content-Type; send it as application/json'
        : `Content-Type ${JSON.stringify(contentType)} is not accepted; send the body as application/json`,
    );
  }
}

export interface HttpError {
  status: 400 | 403 | 404 | 409 | 413 | 415;
  body: ErrorResponse;
}

type ErrorClass = abstract new (...args: never[]) => Error;

/** Most specific first: the first class the error is an instance of decides. */
const CLIENT_ERRORS: readonly [ErrorClass, HttpError['status'], string][] = [
  [ValidationError, 400, 'VALIDATION_FAILED'],
  [PayloadTooLargeError, 413, 'PAYLOAD_TOO_LARGE'],
  [UnsupportedMediaTypeError, 415, 'UNSUPPORTED_MEDIA_TYPE'],
  [PilotIdentityMismatchError, 403, 'PILOT_IDENTITY_MISMATCH'],
  [NotFoundError, 404, 'NOT_FOUND'],
  [AlreadyClaimedError, 409, 'ALREADY_CLAIMED'],
  [StaleAttemptError, 409, 'STALE_ATTEMPT'],
  [NotClaimableError, 409, 'NOT_CLAIMABLE'],
  [PilotNotLiveError, 409, 'PILOT_NOT_LIVE'],
  [TaskSpecConflictError, 409, 'TASK_SPEC_CONFLICT'],
  [DatasetInUseError, 409, 'DATASET_IN_USE'],
  [StateConflictError, 409, 'STATE_CONFLICT'],
  [AlreadyExistsError, 409, 'ALREADY_EXISTS'],
  [ConditionFailedError, 409, 'CONFLICT'],
];

/** ErrorResponse bounds a message; a long list of issues is still given in full in `issues`. */
const MESSAGE_MAX_CHARS = 4096;

export function errorBody(
  code: string,
  message: string,
  issues?: ErrorResponse['error']['issues'],
): ErrorResponse {
  const bounded =
    message.length > MESSAGE_MAX_CHARS ? `${message.slice(0, MESSAGE_MAX_CHARS - 1)}…` : message;
  return { error: { code, message: bounded, ...(issues === undefined ? {} : { issues }) } };
}

/** The client error `error` stands for, or undefined when it is the server's own failure (a 500). */
export function httpErrorOf(error: unknown): HttpError | undefined {
  const entry = CLIENT_ERRORS.find(([errorClass]) => error instanceof errorClass);
  if (entry === undefined) return undefined;
  const [, status, code] = entry;
  const issues = error instanceof ValidationError ? [...error.issues] : undefined;
  return { status, body: errorBody(code, (error as Error).message, issues) };
}
