import { Logger } from '@aws-lambda-powertools/logger';
import type { DeleteMessageBatchCommand, DeleteMessageBatchCommandOutput } from '@aws-sdk/client-sqs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DELETE_FLUSH_MS } from './constants.js';
import { type DeleteBatchSender, MessageDeletions } from './deletions.js';

const CPU = 'https://sqs.test/000000000000/jobs-cpu';
const GPU = 'https://sqs.test/000000000000/jobs-gpu';

interface SentBatch {
  queueUrl: string;
  handles: string[];
}

/** SQS's answer when every entry of `batch` was deleted. */
function allDeleted(batch: SentBatch): DeleteMessageBatchCommandOutput {
  return { Successful: batch.handles.map((_, index) => ({ Id: String(index) })), Failed: [], $metadata: {} };
}

/**
 * A fake SQS that records every DeleteMessageBatch and answers with `answer` (all deleted by
 * default).
 */
function fakeSqs(
  answer: (
    batch: SentBatch,
    signal: AbortSignal | undefined,
  ) => Promise<DeleteMessageBatchCommandOutput> = async (batch) => allDeleted(batch),
): { sqs: DeleteBatchSender; sent: SentBatch[] } {
  const sent: SentBatch[] = [];
  const sqs: DeleteBatchSender = {
    send: (command: DeleteMessageBatchCommand, options) => {
      const batch = {
        queueUrl: command.input.QueueUrl!,
        handles: (command.input.Entries ?? []).map((entry) => entry.ReceiptHandle!),
      };
      sent.push(batch);
      return answer(batch, options?.abortSignal);
    },
  };
  return { sqs, sent };
}

function message(id: string): { MessageId: string; ReceiptHandle: string } {
  return { MessageId: id, ReceiptHandle: `rh-${id}` };
}

function setup(sqs: DeleteBatchSender) {
  const logger = new Logger({ logLevel: 'SILENT' });
  const warn = vi.spyOn(logger, 'warn');
  const deletions = new MessageDeletions({ sqs, logger });
  /** The message ids logged as not deleted, in order. */
  const undeleted = () => warn.mock.calls.map(([, extra]) => (extra as { messageId?: string }).messageId);
  return { deletions, warn, undeleted };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('MessageDeletions', () => {
  it('sends 25 deletes of one queue in three calls: two full batches at once, the rest after the delay', async () => {
    // Prepare
    const { sqs, sent } = fakeSqs();
    const { deletions, warn } = setup(sqs);
    // Act
    for (let index = 0; index < 25; index++) deletions.delete(CPU, message(`m${index}`));
    const sentAtOnce = sent.length;
    await vi.advanceTimersByTimeAsync(DELETE_FLUSH_MS - 1);
    const sentBeforeTheDelay = sent.length;
    await vi.advanceTimersByTimeAsync(1);
    // Assess
    expect(sentAtOnce).toBe(2);
    expect(sentBeforeTheDelay).toBe(2);
    expect(sent.map((batch) => batch.handles.length)).toEqual([10, 10, 5]);
    expect(sent.flatMap((batch) => batch.handles)).toEqual(
      Array.from({ length: 25 }, (_, index) => `rh-m${index}`),
    );
    expect(deletions.pendingCount).toBe(0);
    expect(warn).not.toHaveBeenCalled();
  });

  it('groups deletes by queue: a batch holds the messages of one queue only', async () => {
    // Prepare
    const { sqs, sent } = fakeSqs();
    const { deletions } = setup(sqs);
    // Act
    for (let index = 0; index < 14; index++)
      deletions.delete(index % 2 === 0 ? CPU : GPU, message(`m${index}`));
    await vi.advanceTimersByTimeAsync(DELETE_FLUSH_MS);
    // Assess: seven per queue, none full, so one call per queue once the delay is over.
    expect(sent).toEqual([
      { queueUrl: CPU, handles: ['rh-m0', 'rh-m2', 'rh-m4', 'rh-m6', 'rh-m8', 'rh-m10', 'rh-m12'] },
      { queueUrl: GPU, handles: ['rh-m1', 'rh-m3', 'rh-m5', 'rh-m7', 'rh-m9', 'rh-m11', 'rh-m13'] },
    ]);
  });

  it('never sends more than ten entries per call, whatever the mix of queues', async () => {
    // Prepare
    const { sqs, sent } = fakeSqs();
    const { deletions } = setup(sqs);
    // Act
    for (let index = 0; index < 47; index++)
      deletions.delete(index % 3 === 0 ? GPU : CPU, message(`m${index}`));
    await vi.advanceTimersByTimeAsync(DELETE_FLUSH_MS);
    // Assess
    const handles = sent.flatMap((batch) => batch.handles);
    expect(Math.max(...sent.map((batch) => batch.handles.length))).toBeLessThanOrEqual(10);
    expect(handles.toSorted()).toEqual(Array.from({ length: 47 }, (_, index) => `rh-m${index}`).toSorted());
    expect(sent).toHaveLength(6);
  });

  it('logs the entries SQS reports failed, and every entry of a call that throws, without retrying them', async () => {
    // Prepare: the first call fails its second entry, the second call fails as a whole.
    let calls = 0;
    const { sqs, sent } = fakeSqs(async (batch) => {
      calls++;
      if (calls === 2) throw new Error('connection reset');
      return {
        Successful: [{ Id: '0' }, { Id: '2' }],
        Failed: [
          { Id: '1', SenderFault: true, Code: 'ReceiptHandleIsInvalid', Message: `bad ${batch.handles[1]}` },
        ],
        $metadata: {},
      };
    });
    const { deletions, warn, undeleted } = setup(sqs);
    // Act
    for (const id of ['a', 'b', 'c']) deletions.delete(CPU, message(id));
    await vi.advanceTimersByTimeAsync(DELETE_FLUSH_MS);
    for (const id of ['d', 'e']) deletions.delete(CPU, message(id));
    await vi.advanceTimersByTimeAsync(DELETE_FLUSH_MS);
    await vi.advanceTimersByTimeAsync(10 * DELETE_FLUSH_MS);
    // Assess
    expect(sent).toHaveLength(2);
    expect(undeleted()).toEqual(['b', 'd', 'e']);
    expect(warn).toHaveBeenCalledWith('job message could not be deleted', {
      messageId: 'b',
      error: 'ReceiptHandleIsInvalid: bad rh-b',
    });
    expect(warn).toHaveBeenCalledWith('job message could not be deleted', {
      messageId: 'd',
      error: 'connection reset',
    });
  });

  it('flush sends the waiting deletes at once and resolves only when the calls on their way are answered', async () => {
    // Prepare: SQS answers only when the test says so.
    const answers: (() => void)[] = [];
    const { sqs, sent } = fakeSqs(
      (batch) => new Promise((resolve) => answers.push(() => resolve(allDeleted(batch)))),
    );
    const { deletions, warn } = setup(sqs);
    for (let index = 0; index < 12; index++) deletions.delete(CPU, message(`m${index}`));
    // Act
    let flushed = false;
    const flush = deletions.flush(Date.now() + 30_000).then(() => {
      flushed = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    const sentBeforeAnswers = sent.map((batch) => batch.handles.length);
    const flushedBeforeAnswers = flushed;
    for (const answer of answers) answer();
    await flush;
    // Assess: the full batch went when it filled, the other two without waiting for the delay.
    expect(sentBeforeAnswers).toEqual([10, 2]);
    expect(flushedBeforeAnswers).toBe(false);
    expect(flushed).toBe(true);
    expect(deletions.pendingCount).toBe(0);
    expect(warn).not.toHaveBeenCalled();
  });

  it('flush gives up at its deadline: the calls still running are aborted and their messages logged', async () => {
    // Prepare: SQS never answers; only the abort ends a call.
    const { sqs } = fakeSqs(
      (_, signal) =>
        new Promise((_resolve, reject) => {
          signal?.addEventListener('abort', () => reject(new Error('Request aborted')), { once: true });
        }),
    );
    const { deletions, undeleted } = setup(sqs);
    deletions.delete(CPU, message('a'));
    deletions.delete(GPU, message('b'));
    // Act
    const flush = deletions.flush(Date.now() + 1_000);
    await vi.advanceTimersByTimeAsync(1_000);
    await flush;
    // Assess
    expect(undeleted().toSorted()).toEqual(['a', 'b']);
  });

  it('after a flush that hit its deadline, later deletes are sent normally', async () => {
    // Prepare: the first call hangs until aborted, the next ones succeed.
    let calls = 0;
    const { sqs, sent } = fakeSqs(async (batch, signal) => {
      calls++;
      if (calls === 1) {
        await new Promise((_resolve, reject) => {
          signal?.addEventListener('abort', () => reject(new Error('Request aborted')), { once: true });
        });
      }
      return allDeleted(batch);
    });
    const { deletions, undeleted } = setup(sqs);
    deletions.delete(CPU, message('a'));
    const firstFlush = deletions.flush(Date.now() + 100);
    await vi.advanceTimersByTimeAsync(100);
    await firstFlush;
    // Act
    deletions.delete(CPU, message('b'));
    await deletions.flush(Date.now() + 100);
    // Assess
    expect(sent.map((batch) => batch.handles)).toEqual([['rh-a'], ['rh-b']]);
    expect(undeleted()).toEqual(['a']);
  });

  it('flush with nothing waiting or on its way returns at once without calling SQS', async () => {
    // Prepare
    const { sqs, sent } = fakeSqs();
    const { deletions } = setup(sqs);
    // Act
    await deletions.flush(Date.now());
    // Assess
    expect(sent).toEqual([]);
  });
});
