/**
 * Function-pool fixture: sends `calls` SQS ListQueues through the process-wide clients (to an
 * endpoint that refuses them: only the count matters), then answers, or throws when `fail`.
 */
import { ListQueuesCommand } from '@aws-sdk/client-sqs';
import { awsClients } from '../../../shared/aws/index.js';

interface CallerEvent {
  calls: number;
  fail?: boolean;
}

export async function handler(event: CallerEvent) {
  for (let call = 0; call < event.calls; call++) {
    await awsClients()
      .sqs.send(new ListQueuesCommand({}))
      .catch(() => undefined);
  }
  if (event.fail) throw new Error('failed after its calls');
  return { calls: event.calls };
}
