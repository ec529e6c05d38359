import {
  type CloudWatchClient,
  GetMetricDataCommand,
  type GetMetricDataCommandOutput,
  type MetricDataQuery,
} from '@aws-sdk/client-cloudwatch';
import { minuteOf, pointsOf, recentMinutes } from './minutes.js';
import type { ThroughputCounts, ThroughputHistory, ThroughputPoint, ThroughputRecorder } from './types.js';

/** Where the functions publish their EMF metrics (functions/common/observability.ts). */
export interface MetricsSource {
  namespace: string;
  service: string;
}

/** The metric behind each count: the status function's and the watchdog's EMF metrics. */
const METRIC_OF: Readonly<Record<keyof ThroughputCounts, string>> = {
  done: 'JobsDone',
  failed: 'JobsFailed',
};
const COUNTS = Object.keys(METRIC_OF) as (keyof ThroughputCounts)[];
const PERIOD_SECONDS = 60;
/** At most this many pages of one read (each holds up to 100,800 points: far more than asked). */
const MAX_PAGES = 10;

/**
 * On AWS the record is the JobsDone and JobsFailed metrics the functions publish as EMF log
 * lines, which CloudWatch extracts from their logs itself: there is nothing more to write.
 */
export class CloudWatchRecorder implements ThroughputRecorder {
  async record(_counts: ThroughputCounts, _at: Date): Promise<void> {}
}

/** The history as CloudWatch keeps it: the functions' EMF metrics, summed per minute with GetMetricData. */
export class CloudWatchHistory implements ThroughputHistory {
  readonly #cloudWatch: CloudWatchClient;
  readonly #source: MetricsSource;

  constructor(cloudWatch: CloudWatchClient, source: MetricsSource) {
    this.#cloudWatch = cloudWatch;
    this.#source = source;
  }

  async recent(minutes: number, now: Date): Promise<ThroughputPoint[]> {
    const wanted = recentMinutes(now, minutes);
    const queries: MetricDataQuery[] = COUNTS.map((count) => ({
      Id: count,
      ReturnData: true,
      MetricStat: {
        Metric: {
          Namespace: this.#source.namespace,
          MetricName: METRIC_OF[count],
          Dimensions: [{ Name: 'service', Value: this.#source.service }],
        },
        Period: PERIOD_SECONDS,
        Stat: 'Sum',
      },
    }));
    const byMinute = new Map<string, Partial<ThroughputCounts>>();
    let nextToken: string | undefined;
    for (let page = 0; page < MAX_PAGES; page += 1) {
      const response: GetMetricDataCommandOutput = await this.#cloudWatch.send(
        new GetMetricDataCommand({
          MetricDataQueries: queries,
          StartTime: new Date(wanted[0]!),
          EndTime: new Date(Date.parse(wanted.at(-1)!) + PERIOD_SECONDS * 1000),
          ScanBy: 'TimestampAscending',
          ...(nextToken !== undefined && { NextToken: nextToken }),
        }),
      );
      for (const result of response.MetricDataResults ?? []) {
        const count = result.Id as keyof ThroughputCounts;
        (result.Timestamps ?? []).forEach((timestamp, index) => {
          const minute = minuteOf(timestamp);
          byMinute.set(minute, { ...byMinute.get(minute), [count]: Math.round(result.Values?.[index] ?? 0) });
        });
      }
      nextToken = response.NextToken;
      if (nextToken === undefined) break;
    }
    return pointsOf(wanted, byMinute);
  }
}
