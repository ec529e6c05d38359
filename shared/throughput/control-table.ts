import { z } from 'zod';
import type { ControlRepo } from '../repositories/index.js';
import { isEmpty, minuteOf, pointsOf, recentMinutes } from './minutes.js';
import type { ThroughputCounts, ThroughputHistory, ThroughputPoint, ThroughputRecorder } from './types.js';

/** The Control item of a minute's counters: `throughput/2026-12-06T21:04:00.000Z`. */
export const THROUGHPUT_KEY_PREFIX = 'throughput/';
/** How long a minute's record is kept before DynamoDB's TTL deletes it: a day. */
export const THROUGHPUT_RECORD_SECONDS = 86_400;

const MinuteCounters = z.object({
  done: z.number().int().min(0).default(0),
  failed: z.number().int().min(0).default(0),
});

const keyOf = (minute: string) => `${THROUGHPUT_KEY_PREFIX}${minute}`;

/**
 * A rolling per-minute record in the Control table, one item a minute: one atomic ADD per
 * recorded batch, so concurrent status batches all count. DynamoDB's TTL deletes it after a day.
 */
export class ControlTableRecorder implements ThroughputRecorder {
  readonly #control: ControlRepo;

  constructor(control: ControlRepo) {
    this.#control = control;
  }

  async record(counts: ThroughputCounts, at: Date): Promise<void> {
    if (isEmpty(counts)) return;
    const expiresAt = Math.floor(at.getTime() / 1000) + THROUGHPUT_RECORD_SECONDS;
    await this.#control.addCounters(keyOf(minuteOf(at)), { ...counts }, expiresAt);
  }
}

/** The Control table's per-minute record, read back as one BatchGetItem of the minutes wanted. */
export class ControlTableHistory implements ThroughputHistory {
  readonly #control: ControlRepo;

  constructor(control: ControlRepo) {
    this.#control = control;
  }

  async recent(minutes: number, now: Date): Promise<ThroughputPoint[]> {
    const wanted = recentMinutes(now, minutes);
    const stored = await this.#control.getCounters(wanted.map(keyOf), MinuteCounters);
    const byMinute = new Map(
      [...stored].map(([key, counts]) => [key.slice(THROUGHPUT_KEY_PREFIX.length), counts]),
    );
    return pointsOf(wanted, byMinute);
  }
}
