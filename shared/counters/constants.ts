import { LIMITS } from '../model/index.js';

/**
 * Counter shards a new task gets. One shard item takes about 250 transactional counter
 * updates a second (DynamoDB's 1,000 WCU/s per item); 16 shards carry a single task past
 * 1,000 jobs a second with room to spare, and a read of all of them is one BatchGetItem of 16
 * small items (docs/capacity.md).
 */
export const DEFAULT_COUNTER_SHARDS = 16;
/**
 * The most shards a task may have: a task's state change updates its item and every shard in
 * one transaction (at most 100 items), and summing them stays one BatchGetItem (100 keys).
 */
export const MAX_COUNTER_SHARDS = LIMITS.counterShards;
