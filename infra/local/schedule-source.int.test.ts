/**
 * A schedule started again resumes from its last tick, kept in the runtime's state table in
 * the emulator: restarts more frequent than its period cannot starve it.
 */
import { CreateQueueCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { createAwsClients } from '../../shared/aws/index.js';
import { uniquePrefix } from '../../test/support/index.js';
import { RuntimeState } from './checkpoints.js';
import { FunctionPool } from './function-pool.js';
import { ScheduledRule } from './schedule-source.js';
import type { RuleWiring } from './types.js';

const clients = createAwsClients({ forcePathStyle: true });
/** Far longer than the test waits: only a resumed schedule fires within it. */
const PERIOD_MS = 60_000;
const RULE: RuleWiring = {
  logicalId: 'Watchdog',
  bus: null,
  enabled: true,
  trigger: { kind: 'schedule', expression: 'rate(1 minute)' },
  targets: [{ id: 'Queue', kind: 'sqs', logicalId: 'Ticks', input: null, messageGroupId: null }],
};

describe('a schedule started again', () => {
  const started: ScheduledRule[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((schedule) => schedule.stop()));
  });

  async function startSchedule(prefix: string) {
    const queueUrl = (await clients.sqs.send(new CreateQueueCommand({ QueueName: `${prefix}-ticks` })))
      .QueueUrl!;
    const state = await RuntimeState.open(clients, prefix);
    const schedule = new ScheduledRule({
      rule: RULE,
      ruleArn: `arn:aws:events:us-east-1:123456789012:rule/${prefix}-watchdog`,
      intervalMs: PERIOD_MS,
      region: 'us-east-1',
      accountId: '123456789012',
      queueUrls: new Map([['Ticks', queueUrl]]),
      clients,
      pool: new FunctionPool([]),
      log: () => {},
      state,
    });
    return { queueUrl, state, schedule };
  }

  async function ticks(queueUrl: string, waitSeconds: number): Promise<number> {
    const received = await clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        WaitTimeSeconds: waitSeconds,
        MaxNumberOfMessages: 10,
      }),
    );
    return received.Messages?.length ?? 0;
  }

  it('fires one period after its last tick, at once when that is past, and records the tick', async () => {
    // Prepare: the last tick before the restart was a period and a bit ago.
    const prefix = uniquePrefix('sched');
    const { queueUrl, state, schedule } = await startSchedule(prefix);
    const lastTick = Date.now() - PERIOD_MS - 1_000;
    await state.saveFired(RULE.logicalId, lastTick);

    // Act
    started.push(schedule);
    schedule.start();

    // Assess
    expect(await ticks(queueUrl, 5)).toBe(1);
    expect(schedule.stats.ticks).toBe(1);
    expect(await state.lastFired(RULE.logicalId)).toBeGreaterThan(lastTick + PERIOD_MS);
  });

  it('waits out what is left of the period when the last tick is recent', async () => {
    // Prepare
    const prefix = uniquePrefix('sched');
    const { queueUrl, state, schedule } = await startSchedule(prefix);
    await state.saveFired(RULE.logicalId, Date.now() - 1_000);

    // Act
    started.push(schedule);
    schedule.start();

    // Assess
    expect(await ticks(queueUrl, 3)).toBe(0);
    expect(schedule.stats.ticks).toBe(0);
  });
});
