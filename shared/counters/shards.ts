import { ValidationError } from '../errors/index.js';
import { JOB_STATES, type JobCounts, type JobState } from '../model/index.js';
import { MAX_COUNTER_SHARDS } from './constants.js';
import type { CounterDelta, Counters, JobMove } from './types.js';

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** Throws a ValidationError unless `shards` is a whole number from 1 to MAX_COUNTER_SHARDS. */
export function checkShardCount(shards: number): number {
  if (!Number.isInteger(shards) || shards < 1 || shards > MAX_COUNTER_SHARDS) {
    throw new ValidationError('invalid counter shards', [
      { path: 'counterShards', message: `must be an integer from 1 to ${MAX_COUNTER_SHARDS}, not ${shards}` },
    ]);
  }
  return shards;
}

/**
 * The shard (0 … shards − 1) that counts the job: FNV-1a of its id, so every move of a job
 * lands on the same shard, whichever process makes it, and jobs spread evenly over the shards.
 */
export function shardOf(jobId: string, shards: number): number {
  checkShardCount(shards);
  let hash = FNV_OFFSET;
  for (let index = 0; index < jobId.length; index += 1) {
    hash ^= jobId.charCodeAt(index);
    hash = Math.imul(hash, FNV_PRIME) >>> 0;
  }
  return hash % shards;
}

export function zeroCounts(): JobCounts {
  return Object.fromEntries(JOB_STATES.map((state) => [state, 0])) as JobCounts;
}

export function zeroCounters(): Counters {
  return { counts: zeroCounts(), jobsTotal: 0 };
}

/** The task's counters: the sum of its shards'. */
export function sumCounters(shards: readonly Counters[]): Counters {
  const total = zeroCounters();
  for (const shard of shards) {
    for (const state of JOB_STATES) total.counts[state] += shard.counts[state];
    total.jobsTotal += shard.jobsTotal;
  }
  return total;
}

/** Whether two counters hold the same values. */
export function sameCounters(a: Counters, b: Counters): boolean {
  return a.jobsTotal === b.jobsTotal && JOB_STATES.every((state) => a.counts[state] === b.counts[state]);
}

/** What each shard's counters should hold for these jobs: index = shard. */
export function countersByShard(
  jobs: readonly { jobId: string; state: JobState }[],
  shards: number,
): Counters[] {
  const result = Array.from({ length: checkShardCount(shards) }, zeroCounters);
  for (const job of jobs) {
    const counters = result[shardOf(job.jobId, shards)]!;
    counters.counts[job.state] += 1;
    counters.jobsTotal += 1;
  }
  return result;
}

/** The deltas that `moves` make, by shard; shards they do not change are absent. */
export function shardDeltas(moves: readonly JobMove[], shards: number): Map<number, CounterDelta> {
  const deltas = new Map<number, CounterDelta>();
  for (const move of moves) {
    const shard = shardOf(move.jobId, shards);
    const delta = deltas.get(shard) ?? { counts: {}, jobsTotal: 0 };
    add(delta, move.to, 1);
    if (move.from === undefined) delta.jobsTotal += 1;
    else add(delta, move.from, -1);
    deltas.set(shard, delta);
  }
  for (const [shard, delta] of deltas) {
    if (delta.jobsTotal === 0 && Object.keys(delta.counts).length === 0) deltas.delete(shard);
  }
  return deltas;
}

function add(delta: CounterDelta, state: JobState, amount: number): void {
  const next = (delta.counts[state] ?? 0) + amount;
  if (next === 0) delete delta.counts[state];
  else delta.counts[state] = next;
}

/** `counters` moved by `delta`. */
export function applyDelta(counters: Counters, delta: CounterDelta): Counters {
  const counts = { ...counters.counts };
  for (const state of JOB_STATES) counts[state] += delta.counts[state] ?? 0;
  return { counts, jobsTotal: counters.jobsTotal + delta.jobsTotal };
}
