/**
 * READY jobs read ahead by a warm dispatcher and kept between its passes, so a pass queries a
 * task's READY jobs only when what it kept runs short, not every time. What is kept may have
 * changed since it was read (cancelled, or dispatched by another container): the conditional
 * READY → QUEUED refuses such a job, and the dispatcher then forgets that task's jobs.
 */
import type { JobRecord } from '../model/index.js';

/** Reads up to `limit` READY jobs of a task, in dispatch order, whose retry backoff is over. */
export type ReadyJobReader = (taskId: string, limit: number) => Promise<JobRecord[]>;

export interface ReadyJobBufferOptions {
  /** Jobs read per query when a task's kept jobs run short (at least what the pass needs). */
  readAhead: number;
  /** Kept jobs older than this are read again. */
  maxAgeMs: number;
  clock?: () => number;
}

export class ReadyJobBuffer {
  readonly #options: ReadyJobBufferOptions;
  readonly #kept = new Map<string, { jobs: JobRecord[]; readAt: number }>();

  constructor(options: ReadyJobBufferOptions) {
    this.#options = options;
  }

  /** Up to `count` READY jobs of the task, in order: kept ones first, then a read-ahead if short. */
  async take(taskId: string, count: number, read: ReadyJobReader): Promise<JobRecord[]> {
    const now = (this.#options.clock ?? Date.now)();
    const kept = this.#kept.get(taskId);
    let jobs = kept && now - kept.readAt <= this.#options.maxAgeMs ? kept.jobs : [];
    let readAt = kept?.readAt ?? now;
    if (jobs.length < count) {
      // Read afresh rather than append: the query starts from the first READY job, kept ones included.
      jobs = await read(taskId, Math.max(count, this.#options.readAhead));
      readAt = now;
    }
    const taken = jobs.slice(0, count);
    this.#kept.set(taskId, { jobs: jobs.slice(count), readAt });
    return taken;
  }

  /** Forgets a task's kept jobs: one was refused, so others may have changed too. */
  forget(taskId: string): void {
    this.#kept.delete(taskId);
  }

  /** Forgets the tasks that are no longer dispatched from. */
  retainOnly(taskIds: ReadonlySet<string>): void {
    for (const taskId of this.#kept.keys()) if (!taskIds.has(taskId)) this.#kept.delete(taskId);
  }

  /** How many jobs are kept for the task. */
  keptFor(taskId: string): number {
    return this.#kept.get(taskId)?.jobs.length ?? 0;
  }
}
