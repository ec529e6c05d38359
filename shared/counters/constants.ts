import { LIMITS } from '../model/index.js';

/**
 * Counter shards a new task gets unless TASK_COUNTER_SHARDS says otherwise. One shard item
 * takes about 500 transactional counter updates a second (DynamoDB's 1,000 WCU/s per item), so
 * 4 shards carry a single task at about 500 jobs a second, twice SPD's target for one task.
 * Every shard a batch of jobs touches is one more item in its transaction and one more stream
 * record, so more shards than a task needs cost on every batch (docs/capacity.md).
 */
export const DEFAULT_COUNTER_SHARDS = 4;
/**
 * The most shards a task may have: a task's state change updates its item and every shard in
 * one transaction (at most 100 items), and summing them stays one BatchGetItem (100 keys).
 */
export const MAX_COUNTER_SHARDS = LIMITS.counterShards;
