/** The error-code registry and the domain error classes, shared by the pilot and the control plane. */
export { ERROR_CATEGORIES, ERRORS } from './constants.js';
export {
  AlreadyClaimedError,
  AlreadyExistsError,
  ConditionFailedError,
  ConfigError,
  CorruptItemError,
  InvalidTransitionError,
  NotClaimableError,
  NotFoundError,
  PilotIdentityMismatchError,
  PilotNotLiveError,
  StaleAttemptError,
  StateConflictError,
  ValidationError,
  type ValidationIssue,
  WmsError,
} from './errors.js';
export { ERROR_LIST, errorByCode, errorByName, errorForPayloadExit, isRetryableCode } from './registry.js';
export type { ErrorCategory, ErrorEntry, ErrorName, PayloadExit, PayloadKillReason } from './types.js';
export { formatIssues, formatPath } from './zod-issues.js';
