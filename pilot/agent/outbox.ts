import type { Logger } from '@aws-lambda-powertools/logger';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { JobProgressMessage, JobResultMessage, PilotStatusMessage } from '../../events/index.js';
import { sleep } from '../../shared/async/index.js';
import { backoffDelayMs } from './backoff.js';
import { OUTBOX_FLUSH_MS, PROGRESS_HOLD_MS, RETRY_BACKOFF, SQS_MAX_BATCH } from './constants.js';
import type { ResultSpool } from './spool.js';

/** SQS refuses a batch whose bodies add up to more than 256 KiB. */
export const SQS_MAX_BATCH_BYTES = 256 * 1024;

interface OutboxEntry {
  message: PilotStatusMessage;
  body: string;
  /** Set for a result: its spool file, removed once SQS has accepted it. */
  spoolName: string | null;
}

/**
 * How many of the queued bodies (given by their byte sizes, oldest first) go into the next
 * batch: at most `maxEntries` and `maxBytes` in total, but always at least one, so a body too
 * large for any batch is sent alone and refused by SQS rather than blocking the queue.
 */
export function nextBatchSize(sizes: readonly number[], maxEntries: number, maxBytes: number): number {
  let bytes = 0;
  let count = 0;
  for (const size of sizes.slice(0, maxEntries)) {
    if (count > 0 && bytes + size > maxBytes) break;
    bytes += size;
    count++;
  }
  return count;
}

/** Job and attempt of a status message: what progress reports of one run share. */
function attemptKey(message: PilotStatusMessage): string {
  return `${message.jobId}:${message.attempt}`;
}

/**
 * Queues `entry` on `pending`, whose first `sending` entries are in a batch on its way and stay
 * as they are. A progress report replaces a waiting one of the same job attempt (the later
 * phase supersedes the earlier); a result drops the waiting progress of its attempt, since it
 * carries every phase time itself. So a short job costs the status consumer one write, not
 * one per phase.
 */
export function enqueueCoalesced<Entry extends { message: PilotStatusMessage }>(
  pending: Entry[],
  sending: number,
  entry: Entry,
): void {
  const key = attemptKey(entry.message);
  const isProgressOfAttempt = (queued: Entry) =>
    queued.message.type === 'job.progress' && attemptKey(queued.message) === key;
  if (entry.message.type === 'job.progress') {
    const waiting = pending.findIndex((queued, index) => index >= sending && isProgressOfAttempt(queued));
    if (waiting >= 0) {
      pending[waiting] = entry;
      return;
    }
    pending.push(entry);
    return;
  }
  for (let index = pending.length - 1; index >= sending; index--) {
    if (isProgressOfAttempt(pending[index]!)) pending.splice(index, 1);
  }
  pending.push(entry);
}

export interface StatusOutboxOptions {
  sqs: SQSClient;
  queueUrl: string;
  spool: ResultSpool;
  logger: Logger;
  flushMs?: number;
  /** How long a progress report is held back before it is queued (PROGRESS_HOLD_MS by default). */
  progressHoldMs?: number;
}

/**
 * The pilot's status messages on their way to the status queue: collected for a short while
 * and sent with SendMessageBatch (one call for up to ten), retried with backoff while SQS
 * cannot be reached. SQS accepting a message is its acknowledgement. Results are spooled to
 * disk before they are queued here and leave the spool only once accepted. Progress is held
 * back for a moment and superseded by a later phase or the result (enqueueCoalesced), so a
 * short job reports its result alone and the status consumer writes it once.
 */
export class StatusOutbox {
  readonly #options: StatusOutboxOptions;
  readonly #flushMs: number;
  readonly #pending: OutboxEntry[] = [];
  /** The first entries of #pending, in the batch being sent: coalescing leaves them alone. */
  #sending = 0;
  #wake: (() => void) | null = null;
  #failures = 0;
  readonly #progressHoldMs: number;
  /** Progress held back, by job attempt, with when it is queued; kept in arrival order. */
  readonly #held = new Map<string, { entry: OutboxEntry; dueAt: number }>();
  #holdTimer: NodeJS.Timeout | undefined;

  constructor(options: StatusOutboxOptions) {
    this.#options = options;
    this.#flushMs = options.flushMs ?? OUTBOX_FLUSH_MS;
    this.#progressHoldMs = options.progressHoldMs ?? PROGRESS_HOLD_MS;
  }

  get pendingCount(): number {
    return this.#pending.length;
  }

  /** The job attempts whose result SQS has not accepted yet: the pilot still answers for them. */
  pendingResults(): { jobId: string; attempt: number }[] {
    return this.#pending
      .filter((entry) => entry.message.type === 'job.result')
      .map(({ message }) => ({ jobId: message.jobId, attempt: message.attempt }));
  }

  /**
   * Progress is not spooled: a lost one is superseded by the next phase or the result. It is
   * held back first; a later phase of the same attempt takes its place (and its time).
   */
  sendProgress(message: JobProgressMessage): void {
    const key = attemptKey(message);
    const dueAt = this.#held.get(key)?.dueAt ?? Date.now() + this.#progressHoldMs;
    this.#held.set(key, { entry: { message, body: JSON.stringify(message), spoolName: null }, dueAt });
    this.#scheduleRelease();
  }

  /**
   * Resolves once the result is on disk; it is sent from there. If the disk fails, the result
   * is still sent, from memory only.
   */
  async sendResult(result: JobResultMessage): Promise<void> {
    // The result carries every phase time: the attempt's held progress says nothing more.
    this.#held.delete(attemptKey(result));
    let spoolName: string | null = null;
    try {
      spoolName = await this.#options.spool.write(result);
    } catch (error) {
      this.#options.logger.error('result could not be spooled; it is kept in memory only', {
        jobId: result.jobId,
        error,
      });
    }
    this.#enqueue({ message: result, body: JSON.stringify(result), spoolName });
  }

  /** Queues the results an earlier run of the pilot spooled but could not send. */
  async resendSpooled(): Promise<number> {
    const { results, invalid } = await this.#options.spool.readAll();
    for (const { name, error } of invalid) {
      this.#options.logger.error('spooled result cannot be read; left in the spool', {
        spoolFile: name,
        error,
      });
    }
    for (const { name, result } of results) {
      this.#enqueue({ message: result, body: JSON.stringify(result), spoolName: name });
    }
    return results.length;
  }

  /** Sends batches until `signal` aborts: after `flushMs`, or at once when a batch is full. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (this.#pending.length === 0) await this.#waitForWake(null, signal);
      if (this.#pending.length > 0 && this.#pending.length < SQS_MAX_BATCH) {
        await this.#waitForWake(this.#flushMs, signal);
      }
      if (signal.aborted || this.#pending.length === 0) continue;
      await this.#sendNextBatch(signal);
    }
  }

  /**
   * Sends everything still queued, retrying until `deadline` (epoch ms). Returns how many
   * messages are left; results among them stay in the spool for the next start.
   */
  async drain(deadline: number): Promise<number> {
    // Progress still held belongs to jobs that ended without a result (dropped): it is moot.
    clearTimeout(this.#holdTimer);
    this.#held.clear();
    while (this.#pending.length > 0 && Date.now() < deadline) {
      const signal = AbortSignal.timeout(Math.max(1, deadline - Date.now()));
      await this.#sendNextBatch(signal);
    }
    return this.#pending.length;
  }

  /** Queues the held progress that is due, and sets the timer for the next. */
  #releaseDue(): void {
    this.#holdTimer = undefined;
    const now = Date.now();
    for (const [key, { entry, dueAt }] of this.#held) {
      if (dueAt > now) continue;
      this.#held.delete(key);
      this.#enqueue(entry);
    }
    this.#scheduleRelease();
  }

  #scheduleRelease(): void {
    if (this.#holdTimer !== undefined || this.#held.size === 0) return;
    const next = Math.min(...[...this.#held.values()].map((held) => held.dueAt));
    this.#holdTimer = setTimeout(() => this.#releaseDue(), Math.max(0, next - Date.now()));
    // Held progress alone never keeps the pilot's process alive.
    this.#holdTimer.unref();
  }

  #enqueue(entry: OutboxEntry): void {
    const wasEmpty = this.#pending.length === 0;
    enqueueCoalesced(this.#pending, this.#sending, entry);
    // The first entry starts the flush period; a full batch ends it. An entry that only
    // replaced another does neither.
    if (wasEmpty || this.#pending.length >= SQS_MAX_BATCH) this.#wake?.();
  }

  #waitForWake(ms: number | null, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.#wake = null;
        resolve();
      };
      const timer = ms === null ? undefined : setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      this.#wake = done;
    });
  }

  /** One SendMessageBatch; on failure, waits the backoff before returning. */
  async #sendNextBatch(signal: AbortSignal): Promise<void> {
    const { sqs, queueUrl, spool, logger } = this.#options;
    const count = nextBatchSize(
      this.#pending.map((entry) => Buffer.byteLength(entry.body)),
      SQS_MAX_BATCH,
      SQS_MAX_BATCH_BYTES,
    );
    const batch = this.#pending.slice(0, count);
    let failed: { Id?: string; SenderFault?: boolean; Code?: string; Message?: string }[];
    this.#sending = count;
    try {
      const response = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: batch.map((entry, index) => ({ Id: String(index), MessageBody: entry.body })),
        }),
        { abortSignal: signal },
      );
      failed = response.Failed ?? [];
    } catch (error) {
      this.#sending = 0;
      if (signal.aborted) return;
      this.#failures++;
      const delay = backoffDelayMs(this.#failures, RETRY_BACKOFF);
      logger.warn('status queue unreachable; retrying', {
        pending: this.#pending.length,
        retryInMs: delay,
        error: (error as Error).message,
      });
      await sleep(delay, signal);
      return;
    }
    const accepted = new Set(batch);
    const retry: OutboxEntry[] = [];
    for (const failure of failed) {
      const entry = batch[Number(failure.Id)];
      if (entry === undefined) continue;
      accepted.delete(entry);
      if (failure.SenderFault) {
        // SQS will never take this body; a result stays in the spool for an operator.
        logger.error('status message refused by SQS', {
          jobId: entry.message.jobId,
          type: entry.message.type,
          code: failure.Code,
          reason: failure.Message,
          spoolFile: entry.spoolName,
        });
      } else {
        retry.push(entry);
      }
    }
    this.#pending.splice(0, count, ...retry);
    this.#sending = 0;
    for (const entry of accepted) {
      if (entry.spoolName === null) continue;
      try {
        await spool.remove(entry.spoolName);
      } catch (error) {
        logger.error('sent result could not be removed from the spool; it will be sent again', {
          spoolFile: entry.spoolName,
          error,
        });
      }
    }
    if (retry.length === 0) {
      this.#failures = 0;
      return;
    }
    this.#failures++;
    await sleep(backoffDelayMs(this.#failures, RETRY_BACKOFF), signal);
  }
}
