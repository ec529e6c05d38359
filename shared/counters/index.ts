/**
 * A task's job counters, kept in shards: each job is counted on the shard its id picks, and
 * the task's counters are the sum of its shards.
 */
export { DEFAULT_COUNTER_SHARDS, MAX_COUNTER_SHARDS } from './constants.js';
export {
  applyDelta,
  checkShardCount,
  countersByShard,
  sameCounters,
  shardDeltas,
  shardOf,
  sumCounters,
  zeroCounters,
  zeroCounts,
} from './shards.js';
export type { CounterDelta, Counters, JobMove } from './types.js';
