/**
 * Who may act for a pilot. The API records the principal that registered a pilot (as API
 * Gateway verified the request's signature) and lets only that principal heartbeat, claim or
 * read commands for the pilot's id.
 *
 * The principal is API Gateway's `requestContext.identity.caller`: an IAM user's unique id,
 * or `<role id>:<session name>` for an assumed-role session (IAM Roles Anywhere, per-node
 * roles); on the embedded default, the access key the local API verified. It is also the
 * value of the `aws:userid` condition key, so the control queue's policy can name it.
 */

/** The principal API Gateway verified for a request. */
export interface CallerIdentity {
  /** The principal id (`aws:userid`): compared, and named in the control queue's policy. */
  id: string;
  /** Its ARN (for a role session, the assumed-role session ARN), shown to operators. */
  arn: string | undefined;
}

/** The parts of API Gateway's `requestContext.identity` that name the signer. */
export interface RequestIdentity {
  caller?: string | null;
  userArn?: string | null;
}

/** The verified caller of a request, or undefined when the request was not signed. */
export function callerIdentityOf(identity: RequestIdentity | null | undefined): CallerIdentity | undefined {
  const id = identity?.caller;
  if (id === undefined || id === null || id === '') return undefined;
  return { id, arn: identity?.userArn ?? undefined };
}

/**
 * Whether `caller` may act for a pilot registered by `registeredBy` (its record's `callerId`):
 * only the same principal. A pilot recorded without one (registered before identities were
 * kept) has no owner anybody could prove, so nobody may act for it; it registers anew.
 */
export function mayActForPilot(
  registeredBy: string | undefined,
  caller: CallerIdentity | undefined,
): boolean {
  return caller !== undefined && registeredBy !== undefined && registeredBy === caller.id;
}

/** Whether `caller` may register a pilot id: a new id, or one it registered itself. */
export function mayRegisterPilot(
  existing: { callerId?: string | undefined } | undefined,
  caller: CallerIdentity | undefined,
): boolean {
  if (caller === undefined) return false;
  return existing === undefined || mayActForPilot(existing.callerId, caller);
}

/** What a pilot does with its control queue: only its registering principal may. */
export const CONTROL_QUEUE_READ_ACTIONS = [
  'sqs:ReceiveMessage',
  'sqs:DeleteMessage',
  'sqs:ChangeMessageVisibility',
] as const;

/**
 * The resource policy of a pilot's control queue: every principal but the one that
 * registered the pilot is denied reading it (an explicit deny beats the pilot policy's grant
 * on every control queue). Senders of commands (the control plane's functions) are unaffected.
 */
export function controlQueuePolicy(queueArn: string, caller: CallerIdentity): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'OnlyTheRegisteringPilotReads',
        Effect: 'Deny',
        Principal: '*',
        Action: [...CONTROL_QUEUE_READ_ACTIONS],
        Resource: queueArn,
        Condition: { StringNotEquals: { 'aws:userid': caller.id } },
      },
    ],
  });
}
