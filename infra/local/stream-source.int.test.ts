/**
 * Stream mappings across failures: a read error (an iterator the endpoint no longer accepts)
 * and a restart of the runtime. The runtime runs on the fixture stack through a proxy in
 * front of the emulator, which refuses what a test tells it to.
 */
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsClients, createAwsClients } from '../../shared/aws/index.js';
import { type FaultProxy, startFaultProxy } from '../../test/support/fault-proxy.js';
import { eventually, uniquePrefix } from '../../test/support/index.js';
import { type LocalRuntime, startLocalRuntime } from './runtime.js';
import type { StreamEventSourceStats } from './stream-source.js';
import { synthesizeFixtureStack } from './test-fixtures/stack.js';

const template = synthesizeFixtureStack();

describe('a stream mapping after a failed read and after a restart', () => {
  let proxy: FaultProxy;
  let clients: AwsClients;
  let previousEndpoint: string | undefined;
  /** The next GetRecords poisons its iterator: the proxy refuses every read with it from then on. */
  let poisonNext = false;
  const poisoned = new Set<string>();
  const running: LocalRuntime[] = [];

  beforeAll(async () => {
    proxy = await startFaultProxy(process.env.AWS_ENDPOINT_URL!, {
      refuse(call) {
        if (call.operation !== 'GetRecords') return undefined;
        const iterator = String(call.input?.ShardIterator);
        if (poisonNext) {
          poisonNext = false;
          poisoned.add(iterator);
        }
        if (!poisoned.has(iterator)) return undefined;
        return { status: 400, type: 'ValidationException', message: 'Invalid ShardIterator' };
      },
    });
    previousEndpoint = process.env.AWS_ENDPOINT_URL;
    process.env.AWS_ENDPOINT_URL = proxy.url;
    clients = createAwsClients({ forcePathStyle: true });
  });
  afterAll(async () => {
    await Promise.all(running.map((runtime) => runtime.stop()));
    process.env.AWS_ENDPOINT_URL = previousEndpoint;
    await proxy?.stop();
  });

  async function start(prefix: string): Promise<LocalRuntime> {
    const runtime = await startLocalRuntime({ template, endpoint: proxy.url, prefix, log: () => {} });
    running.push(runtime);
    return runtime;
  }

  async function stop(runtime: LocalRuntime): Promise<void> {
    running.splice(running.indexOf(runtime), 1);
    await runtime.stop();
  }

  function tableOf(runtime: LocalRuntime, readable: string): string {
    const [, resource] = Object.entries(runtime.resources).find(([id]) => id.startsWith(readable))!;
    return resource.physicalName;
  }

  function streamStats(runtime: LocalRuntime): StreamEventSourceStats {
    const [stats] = Object.values(runtime.stats().eventSources).filter((source) => 'readErrors' in source);
    return stats as StreamEventSourceStats;
  }

  async function write(runtime: LocalRuntime, ids: readonly string[], kind = 'keep'): Promise<void> {
    for (const pk of ids) {
      await clients.doc.send(new PutCommand({ TableName: tableOf(runtime, 'Records'), Item: { pk, kind } }));
    }
  }

  /** How often the stream consumer received each record whose id starts with `run`. */
  async function deliveries(runtime: LocalRuntime, run: string): Promise<Record<string, number>> {
    const result = await clients.doc.send(
      new QueryCommand({
        TableName: tableOf(runtime, 'Observations'),
        KeyConditionExpression: '#source = :source AND begins_with(#key, :run)',
        ExpressionAttributeNames: { '#source': 'source', '#key': 'key' },
        ExpressionAttributeValues: { ':source': 'stream', ':run': run },
        ConsistentRead: true,
      }),
    );
    const counts: Record<string, number> = {};
    for (const item of result.Items ?? [])
      counts[item.itemId as string] = (counts[item.itemId as string] ?? 0) + 1;
    return counts;
  }

  it('takes a fresh iterator after a read the endpoint refuses, and delivers each record once', async () => {
    // Prepare
    const run = uniquePrefix('fault');
    const runtime = await start(uniquePrefix('st'));
    await write(runtime, [`${run}-before`]);
    await eventually(async () => expect(await deliveries(runtime, run)).toEqual({ [`${run}-before`]: 1 }), {
      timeoutMs: 30_000,
    });

    // Act: the endpoint refuses the mapping's current iterator for good.
    poisonNext = true;
    await write(runtime, [`${run}-after`]);

    // Assess
    await eventually(
      async () =>
        expect(await deliveries(runtime, run)).toEqual({ [`${run}-before`]: 1, [`${run}-after`]: 1 }),
      { timeoutMs: 30_000 },
    );
    expect(poisoned.size).toBe(1);
    expect(streamStats(runtime).readErrors).toBeGreaterThanOrEqual(1);
    await stop(runtime);
  });

  it('resumes after its checkpoint when started again: no record twice, none missed', async () => {
    // Prepare: a runtime delivers the first records, then stops.
    const run = uniquePrefix('resume');
    const prefix = uniquePrefix('st');
    const first = await start(prefix);
    await write(first, [`${run}-1`, `${run}-2`]);
    await eventually(
      async () => expect(await deliveries(first, run)).toEqual({ [`${run}-1`]: 1, [`${run}-2`]: 1 }),
      { timeoutMs: 30_000 },
    );
    await stop(first);
    // Written while no runtime runs; the skipped kind is filtered out.
    await write(first, [`${run}-3`, `${run}-4`]);
    await write(first, [`${run}-skipped`], 'other');

    // Act
    const second = await start(prefix);

    // Assess
    const expected = { [`${run}-1`]: 1, [`${run}-2`]: 1, [`${run}-3`]: 1, [`${run}-4`]: 1 };
    await eventually(async () => expect(await deliveries(second, run)).toEqual(expected), {
      timeoutMs: 30_000,
    });
    // The restarted mapping read only what followed its checkpoint: two records and the skipped one.
    // The handler writes its observations before its invocation returns, so the counts may lag.
    await eventually(
      async () => expect(streamStats(second)).toMatchObject({ filteredOut: 1, delivered: 2 }),
      { timeoutMs: 10_000 },
    );
    expect(await deliveries(second, run)).toEqual(expected);
    await stop(second);
  });
});
