import { ERRORS, type ErrorEntry, WmsError } from '../../shared/errors/index.js';

/**
 * A failure that ends a job attempt with a registry code. Every step of a job throws one of
 * these for an expected failure; anything else becomes PILOT_INTERNAL_ERROR.
 */
export class JobFailure extends WmsError {
  override readonly name: string = 'JobFailure';
  constructor(
    readonly entry: ErrorEntry,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** An input could not be fetched or does not match its registered size or checksum. */
export class StageInError extends JobFailure {
  override readonly name: string = 'StageInError';
}

/** An output or the log could not be uploaded, or the payload wrote an unusable output. */
export class StageOutError extends JobFailure {
  override readonly name: string = 'StageOutError';
}

/** A file name that is invalid or would resolve outside the job's work directory. */
export class UnsafePathError extends JobFailure {
  override readonly name: string = 'UnsafePathError';
  constructor(
    readonly fileName: string,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(ERRORS.VALIDATION_INVALID_FILE_NAME, `file name ${JSON.stringify(fileName)}: ${reason}`, options);
  }
}

/** A task argument list the pilot cannot expand. */
export class PayloadArgsError extends JobFailure {
  override readonly name: string = 'PayloadArgsError';
  constructor(
    readonly argIndex: number,
    reason: string,
  ) {
    super(ERRORS.VALIDATION_BAD_JOB_MESSAGE, `args.${argIndex}: ${reason}`);
  }
}

/** The control plane refused a claim: another pilot has the job, or it moved on. */
export class ClaimRefusedError extends WmsError {
  override readonly name: string = 'ClaimRefusedError';
  constructor(
    readonly jobId: string,
    readonly reason: string,
    message: string,
  ) {
    super(`claim of ${jobId} refused (${reason}): ${message}`);
  }
}

/** The control plane declared this pilot LOST; its jobs are no longer its own. */
export class PilotLostError extends WmsError {
  override readonly name: string = 'PilotLostError';
  constructor(readonly pilotId: string) {
    super(`pilot ${pilotId} was declared LOST by the control plane`);
  }
}

/** The control plane could not be reached or failed (network error, 5xx): worth retrying. */
export class ControlPlaneUnavailableError extends WmsError {
  override readonly name: string = 'ControlPlaneUnavailableError';
}

/** The control plane answered something the contract does not allow: retrying will not help. */
export class ControlPlaneProtocolError extends WmsError {
  override readonly name: string = 'ControlPlaneProtocolError';
  constructor(
    readonly status: number,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`HTTP ${status}: ${message}`, options);
  }
}

/** The registry entry for a payload that could not be started, by the errno code of spawn. */
export function errorForSpawnFailure(errnoCode: string): ErrorEntry {
  if (errnoCode === 'ENOENT') return ERRORS.PAYLOAD_EXECUTABLE_NOT_FOUND;
  if (errnoCode === 'EACCES') return ERRORS.PAYLOAD_NOT_EXECUTABLE;
  return ERRORS.PAYLOAD_SPAWN_FAILED;
}
