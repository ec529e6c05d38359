/** Dataset close: matching registered files against the checklist, and deferring a close that does not match yet. */

export { closeDeferral, matchChecklist } from './checklist.js';
export {
  DEFAULT_CLOSE_BASE_SECONDS,
  DEFAULT_CLOSE_MAX_ATTEMPTS,
  DEFAULT_CLOSE_MAX_SECONDS,
  SQS_MAX_VISIBILITY_SECONDS,
} from './constants.js';
export { CloseDeferralPolicy, type CloseDeferralPolicyInput } from './schemas.js';
export type { ChecklistMatch, CloseDeferral } from './types.js';
