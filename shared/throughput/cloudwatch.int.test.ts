/**
 * The CloudWatch history against the emulator's CloudWatch: metrics put as the functions' EMF
 * lines become them on AWS (namespace, `service` dimension, Count), read back per minute.
 */
import { PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { describe, expect, it } from 'vitest';
import { uniquePrefix } from '../../test/support/index.js';
import { createAwsClients } from '../aws/index.js';
import { CloudWatchHistory } from './cloudwatch.js';

describe('CloudWatchHistory', () => {
  it('sums JobsDone and JobsFailed per minute over the minutes asked for, zero where none', async () => {
    // Prepare: a namespace of its own, so other tests' metrics are not read.
    const { cloudWatch } = createAwsClients();
    const source = { namespace: uniquePrefix('SPD/WMS-test'), service: 'wms' };
    const now = new Date(Math.floor(Date.now() / 60_000) * 60_000 + 30_000);
    const at = (minutesAgo: number, second: number) =>
      new Date(now.getTime() - minutesAgo * 60_000 - 30_000 + second * 1000);
    const datum = (name: string, value: number, timestamp: Date) => ({
      MetricName: name,
      Value: value,
      Unit: 'Count' as const,
      Timestamp: timestamp,
      Dimensions: [{ Name: 'service', Value: source.service }],
    });
    await cloudWatch.send(
      new PutMetricDataCommand({
        Namespace: source.namespace,
        MetricData: [
          datum('JobsDone', 1, at(2, 10)),
          datum('JobsDone', 1, at(2, 40)),
          datum('JobsFailed', 1, at(2, 50)),
          datum('JobsDone', 3, at(0, 5)),
        ],
      }),
    );

    // Act
    const points = await new CloudWatchHistory(cloudWatch, source).recent(4, now);

    // Assess
    const minute = (minutesAgo: number) =>
      new Date(now.getTime() - minutesAgo * 60_000 - 30_000).toISOString();
    expect(points).toEqual([
      { minute: minute(3), done: 0, failed: 0 },
      { minute: minute(2), done: 2, failed: 1 },
      { minute: minute(1), done: 0, failed: 0 },
      { minute: minute(0), done: 3, failed: 0 },
    ]);
  });
});
