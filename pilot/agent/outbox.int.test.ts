/** The status outbox against the emulator's SQS: what a short and a long job leave on the status queue. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobProgressMessage, PilotStatusMessage } from '../../events/pilot.js';
import { createAwsClients } from '../../shared/aws/index.js';
import { eventually } from '../../test/support/index.js';
import { jobResult } from '../test-support/factories.js';
import { createTestQueue, StatusCollector } from '../test-support/queues.js';
import { StatusOutbox } from './outbox.js';
import { ResultSpool } from './spool.js';

const { sqs } = createAwsClients();
const HOLD_MS = 600;
let root: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'pilot-outbox-int-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function progress(jobId: string, phase: JobProgressMessage['phase']): JobProgressMessage {
  const { jobId: _, taskId, attempt, pilotId, claimToken } = jobResult();
  return {
    type: 'job.progress',
    jobId,
    taskId,
    attempt,
    pilotId,
    claimToken,
    at: new Date().toISOString(),
    phase,
  };
}

function summary(message: PilotStatusMessage): string {
  return message.type === 'job.progress' ? `${message.jobId} ${message.phase}` : `${message.jobId} result`;
}

/** An outbox on a queue of its own (progress held back HOLD_MS), and a collector of what reaches the queue. */
async function outboxOnQueue(name: string) {
  const queueUrl = await createTestQueue(sqs, name);
  const spool = new ResultSpool(path.join(root, `spool-${name}`));
  await spool.open();
  const outbox = new StatusOutbox({
    sqs,
    queueUrl,
    spool,
    logger: new Logger({ logLevel: 'SILENT' }),
    flushMs: 50,
    progressHoldMs: HOLD_MS,
  });
  return { outbox, spool, collector: new StatusCollector(sqs, queueUrl) };
}

describe('StatusOutbox', () => {
  it('sends a short job its result alone, and a long one its latest phase once the hold is over', async () => {
    // Prepare
    const { outbox, spool, collector } = await outboxOnQueue('pilot-outbox');
    const running = new AbortController();
    const loop = outbox.run(running.signal);
    try {
      // Act
      for (const phase of ['CLAIMED', 'STAGE_IN', 'EXECUTING', 'STAGE_OUT'] as const) {
        outbox.sendProgress(progress('j-short', phase));
        outbox.sendProgress(progress('j-long', phase === 'STAGE_OUT' ? 'EXECUTING' : phase));
      }
      // Longer than a flush, shorter than the hold: without the hold the phase would go out.
      await new Promise((resolve) => setTimeout(resolve, HOLD_MS / 2));
      await outbox.sendResult(jobResult({ jobId: 'j-short' }));
      await collector.waitFor((message) => message.jobId === 'j-long');
      await new Promise((resolve) => setTimeout(resolve, 3 * HOLD_MS));
      // Assess
      expect(collector.messages.map(summary).sort()).toEqual(['j-long EXECUTING', 'j-short result']);
      expect(await spool.readAll()).toEqual({ results: [], invalid: [] });
    } finally {
      running.abort();
      await loop;
      await collector.stop();
    }
  });

  it('lists the results SQS has not accepted yet, and none once it has', async () => {
    // Prepare: an outbox whose sending starts later.
    const { outbox, collector } = await outboxOnQueue('pilot-outbox-pending');

    // Act
    outbox.sendProgress(progress('j-running', 'EXECUTING'));
    await outbox.sendResult(jobResult({ jobId: 'j-done', attempt: 2 }));
    const pending = outbox.pendingResults();
    const running = new AbortController();
    const loop = outbox.run(running.signal);
    try {
      await collector.waitFor((message) => message.jobId === 'j-done');

      // Assess
      expect(pending).toEqual([{ jobId: 'j-done', attempt: 2 }]);
      // The queue may show the message a moment before the outbox has SQS's answer.
      await eventually(() => expect(outbox.pendingResults()).toEqual([]), { timeoutMs: 5_000 });
    } finally {
      running.abort();
      await loop;
      await collector.stop();
    }
  });
});
