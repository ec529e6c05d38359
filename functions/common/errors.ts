import { type CloseDeferralPolicyInput, closeDeferral } from '../../shared/checklist/index.js';
import { WmsError } from '../../shared/errors/index.js';

/**
 * Thrown by a record handler when the message is valid but cannot be applied yet (e.g. a
 * `dataset.close` whose files have not all arrived): the message is returned to its queue,
 * invisible for `delaySeconds`, and dead-lettered with `reason` once it is out of tries.
 */
export class DeferMessageError extends WmsError {
  override readonly name: string = 'DeferMessageError';
  constructor(
    readonly delaySeconds: number,
    readonly reason: string,
    readonly deadLetterNow = false,
  ) {
    super(reason);
  }
}

/** A message that can never be applied, whatever the retries: it goes to the DLQ at once. */
export class PoisonMessageError extends WmsError {
  override readonly name: string = 'PoisonMessageError';
  constructor(
    readonly code: string,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(reason, options);
  }
}

/**
 * The deferral of a message that cannot be applied yet (growing delay), or its dead-lettering
 * with the reason once the policy's tries are used.
 */
export function deferral(
  receiveCount: number,
  reason: string,
  policy: CloseDeferralPolicyInput = {},
): DeferMessageError {
  const decision = closeDeferral(receiveCount, policy);
  return decision.action === 'defer'
    ? new DeferMessageError(decision.delaySeconds, reason)
    : new DeferMessageError(0, reason, true);
}
