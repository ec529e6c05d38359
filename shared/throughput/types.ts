/** Jobs that finished in some span of time: done, and failed for good (retries are not counted). */
export interface ThroughputCounts {
  done: number;
  failed: number;
}

/** One minute of throughput; `minute` is the minute's start, an ISO 8601 UTC timestamp. */
export interface ThroughputPoint extends ThroughputCounts {
  minute: string;
}

/*
 * The per-minute throughput is kept where `THROUGHPUT_HISTORY` says, so a dashboard can show
 * the last hour: CloudWatch on AWS, a per-minute record in the Control table on the embedded
 * default (its emulator makes no metrics of the functions' EMF logs). Writing and reading are
 * two ports, so the status function (which records) and the api function (which reads) are
 * each granted only their half.
 */

/** Counts the jobs a batch of results finished. */
export interface ThroughputRecorder {
  /** Adds a batch of finished jobs to the minute `at` falls in. */
  record(counts: ThroughputCounts, at: Date): Promise<void>;
}

/** Reads the per-minute counts back. */
export interface ThroughputHistory {
  /** The `minutes` whole minutes up to and including the one `now` falls in, oldest first, zero-filled. */
  recent(minutes: number, now: Date): Promise<ThroughputPoint[]>;
}
