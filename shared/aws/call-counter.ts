import type { CallCount } from './types.js';

/**
 * Counts AWS API calls by service and operation. One logical call counts once, however many
 * times the SDK retries it, so totals compare directly with the calls-per-job budget.
 */
export class CallCounter {
  readonly #calls = new Map<string, CallCount>();

  record(service: string, operation: string, calls = 1): void {
    const key = `${service}:${operation}`;
    const entry = this.#calls.get(key);
    if (entry) entry.calls += calls;
    else this.#calls.set(key, { service, operation, calls });
  }

  /** Adds counts made elsewhere (another thread's counter, say). */
  add(counts: readonly CallCount[]): void {
    for (const { service, operation, calls } of counts) this.record(service, operation, calls);
  }

  /** Calls made, optionally only those of one service and operation. */
  count(filter: { service?: string; operation?: string } = {}): number {
    let total = 0;
    for (const entry of this.#calls.values()) {
      if (filter.service !== undefined && entry.service !== filter.service) continue;
      if (filter.operation !== undefined && entry.operation !== filter.operation) continue;
      total += entry.calls;
    }
    return total;
  }

  /** Every service and operation seen so far, sorted by service then operation. */
  snapshot(): CallCount[] {
    return [...this.#calls.values()]
      .map((entry) => ({ ...entry }))
      .sort((a, b) => a.service.localeCompare(b.service) || a.operation.localeCompare(b.operation));
  }

  reset(): void {
    this.#calls.clear();
  }
}

let processCounter: CallCounter | undefined;

/**
 * Makes the process-wide clients (`awsClients()`) count their calls into `counter` when they
 * are created. This module loads no SDK, so a process can set it up before anything does.
 */
export function countProcessCalls(counter: CallCounter): void {
  processCounter = counter;
}

/** The counter set by `countProcessCalls`, if any. */
export function processCallCounter(): CallCounter | undefined {
  return processCounter;
}
