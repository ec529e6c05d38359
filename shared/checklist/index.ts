/**
 * Dataset close: matching registered files against the checklist (in memory, or walking both
 * in code-point order), checklist objects, and deferring a close that does not match yet.
 */

export { closeDeferral, matchChecklist } from './checklist.js';
export { compareSortedNames } from './compare.js';
export {
  CHECKLIST_DIFFERENCES_SHOWN,
  CHECKLIST_LINE_MAX_BYTES,
  DEFAULT_CLOSE_BASE_SECONDS,
  DEFAULT_CLOSE_MAX_ATTEMPTS,
  DEFAULT_CLOSE_MAX_SECONDS,
  SQS_MAX_VISIBILITY_SECONDS,
} from './constants.js';
export {
  ChecklistDigestError,
  ChecklistLineError,
  ChecklistLocationError,
  ChecklistObjectError,
  type ChecklistObjectLocation,
  ChecklistObjectMissingError,
  NamesOutOfOrderError,
} from './errors.js';
export { checklistObjectBytes, checklistObjectDigest, checklistObjectNames } from './object.js';
export { CloseDeferralPolicy, type CloseDeferralPolicyInput } from './schemas.js';
export type {
  ChecklistComparison,
  ChecklistDifferences,
  ChecklistMatch,
  ChecklistObjectRef,
  CloseDeferral,
} from './types.js';
