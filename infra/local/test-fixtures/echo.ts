/**
 * Function-pool fixture: waits `sleepMs`, then answers with when it ran, its context and its
 * worker's configuration; `fail` makes it throw.
 */
import type { Context } from 'aws-lambda';

interface EchoEvent {
  sleepMs?: number;
  fail?: string;
}

export async function handler(event: EchoEvent, context: Context) {
  const startedAt = Date.now();
  await new Promise((resolve) => setTimeout(resolve, event.sleepMs ?? 0));
  if (event.fail) throw new RangeError(event.fail);
  return {
    startedAt,
    finishedAt: Date.now(),
    role: process.env.FIXTURE_ROLE,
    functionName: context.functionName,
    invokedFunctionArn: context.invokedFunctionArn,
    awsRequestId: context.awsRequestId,
    remainingMs: context.getRemainingTimeInMillis(),
  };
}
