/** Pilot identity: which verified caller may act for a pilot, and the control queue policy that follows. */
export {
  type CallerIdentity,
  CONTROL_QUEUE_READ_ACTIONS,
  callerIdentityOf,
  controlQueuePolicy,
  mayActForPilot,
  mayRegisterPilot,
  type RequestIdentity,
} from './identity.js';
