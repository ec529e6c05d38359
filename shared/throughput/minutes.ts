import type { ThroughputCounts, ThroughputPoint } from './types.js';

const MINUTE_MS = 60_000;

/** The start of the minute `at` falls in, as an ISO 8601 UTC timestamp. */
export function minuteOf(at: Date): string {
  return new Date(Math.floor(at.getTime() / MINUTE_MS) * MINUTE_MS).toISOString();
}

/** The starts of the `count` minutes up to and including the one `now` falls in, oldest first. */
export function recentMinutes(now: Date, count: number): string[] {
  const last = Math.floor(now.getTime() / MINUTE_MS) * MINUTE_MS;
  return Array.from({ length: count }, (_, index) =>
    new Date(last - (count - 1 - index) * MINUTE_MS).toISOString(),
  );
}

/** A point for each of `minutes`, in their order: its counts, or zeros for a minute with none. */
export function pointsOf(
  minutes: readonly string[],
  counts: ReadonlyMap<string, Partial<ThroughputCounts>>,
): ThroughputPoint[] {
  return minutes.map((minute) => {
    const found = counts.get(minute);
    return { minute, done: found?.done ?? 0, failed: found?.failed ?? 0 };
  });
}

/** Whether a batch finished nothing, so there is nothing to record. */
export function isEmpty(counts: ThroughputCounts): boolean {
  return counts.done === 0 && counts.failed === 0;
}
