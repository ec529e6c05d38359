import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { publishMetrics } from './observability.js';

const context = { functionName: 'wms-test', awsRequestId: 'r-1' } as Context;

/** Everything the function writes to stdout and stderr while `act` runs. */
async function output(act: () => Promise<unknown>): Promise<string[]> {
  const lines: string[] = [];
  const capture = (chunk: unknown) => {
    lines.push(String(chunk));
    return true;
  };
  vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  try {
    await act();
  } finally {
    vi.restoreAllMocks();
  }
  return lines;
}

afterEach(() => vi.restoreAllMocks());

describe('publishMetrics', () => {
  it('writes nothing for an invocation that recorded no metric', async () => {
    // Prepare
    const metrics = new Metrics({ namespace: 'SPD/Test', serviceName: 'test' });
    const handler = middy(async () => 'ok').use(publishMetrics(metrics));

    // Act
    const written = await output(() => handler({}, context));

    // Assess
    expect(written).toEqual([]);
  });

  it('publishes what an invocation recorded as one EMF line, once, also when it fails', async () => {
    // Prepare
    const metrics = new Metrics({ namespace: 'SPD/Test', serviceName: 'test' });
    const succeeds = middy(async () => {
      metrics.addMetric('JobsDone', MetricUnit.Count, 2);
    }).use(publishMetrics(metrics));
    const fails = middy(async () => {
      metrics.addMetric('JobsFailed', MetricUnit.Count, 1);
      throw new Error('boom');
    }).use(publishMetrics(metrics));

    // Act
    const written = await output(async () => {
      await succeeds({}, context);
      await expect(fails({}, context)).rejects.toThrow('boom');
      await succeeds({}, context);
    });

    // Assess
    const records = written.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records.map((record) => Object.keys(record).filter((key) => key.startsWith('Jobs')))).toEqual([
      ['JobsDone'],
      ['JobsFailed'],
      ['JobsDone'],
    ]);
    expect(records[0]).toMatchObject({ service: 'test', JobsDone: 2 });
    expect(metrics.hasStoredMetrics()).toBe(false);
  });
});
