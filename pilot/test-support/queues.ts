import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { PilotStatusMessage } from '../../events/pilot.js';
import { uniquePrefix } from '../../test/support/tables.js';

/** A queue of its own for a test (names must be unique in the shared emulator). */
export async function createTestQueue(sqs: SQSClient, purpose: string): Promise<string> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: uniquePrefix(purpose) }));
  return QueueUrl!;
}

/**
 * Reads a status queue in the background, as the control plane's status consumer would:
 * every message is validated with the contract's schema, kept, and deleted.
 */
export class StatusCollector {
  readonly messages: PilotStatusMessage[] = [];
  readonly invalid: string[] = [];
  readonly #stop = new AbortController();
  readonly #done: Promise<void>;

  constructor(
    private readonly sqs: SQSClient,
    readonly queueUrl: string,
  ) {
    this.#done = this.#poll();
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#done;
  }

  /** The first message matching, waiting for it up to `timeoutMs`. */
  async waitFor<T extends PilotStatusMessage>(
    predicate: (message: PilotStatusMessage) => message is T,
    timeoutMs?: number,
  ): Promise<T>;
  async waitFor(
    predicate: (message: PilotStatusMessage) => boolean,
    timeoutMs?: number,
  ): Promise<PilotStatusMessage>;
  async waitFor(
    predicate: (message: PilotStatusMessage) => boolean,
    timeoutMs = 30_000,
  ): Promise<PilotStatusMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find(predicate);
      if (found) return found;
      if (Date.now() > deadline) {
        throw new Error(
          `no matching status message within ${timeoutMs} ms; got ${JSON.stringify(this.messages)}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async #poll(): Promise<void> {
    while (!this.#stop.signal.aborted) {
      try {
        const { Messages = [] } = await this.sqs.send(
          new ReceiveMessageCommand({ QueueUrl: this.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
          { abortSignal: this.#stop.signal },
        );
        for (const message of Messages) {
          const parsed = PilotStatusMessage.safeParse(JSON.parse(message.Body ?? 'null'));
          if (parsed.success) this.messages.push(parsed.data);
          else this.invalid.push(message.Body ?? '');
        }
        if (Messages.length > 0) {
          await this.sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: this.queueUrl,
              Entries: Messages.map((message, index) => ({
                Id: String(index),
                ReceiptHandle: message.ReceiptHandle,
              })),
            }),
          );
        }
      } catch (error) {
        if (!this.#stop.signal.aborted) throw error;
      }
    }
  }
}
