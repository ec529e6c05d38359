/** Arithmetic on AWS call counts (shared/aws CallCount lists): windows, sums, per-job rates. */
import type { CallCount } from '../../../shared/aws/index.js';

function keyOf(entry: Pick<CallCount, 'service' | 'operation'>): string {
  return `${entry.service}:${entry.operation}`;
}

function combine(lists: readonly (readonly CallCount[])[], signs: readonly number[]): CallCount[] {
  const totals = new Map<string, CallCount>();
  lists.forEach((list, index) => {
    for (const entry of list) {
      const key = keyOf(entry);
      const total = totals.get(key) ?? { service: entry.service, operation: entry.operation, calls: 0 };
      total.calls += (signs[index] ?? 1) * entry.calls;
      totals.set(key, total);
    }
  });
  return [...totals.values()]
    .filter((entry) => entry.calls !== 0)
    .sort((a, b) => a.service.localeCompare(b.service) || a.operation.localeCompare(b.operation));
}

/** The calls of all lists together. */
export function sumCalls(...lists: readonly (readonly CallCount[])[]): CallCount[] {
  return combine(lists, []);
}

/** `minuend` less every list of `subtrahends`; a negative count means the inputs were inconsistent. */
export function subtractCalls(
  minuend: readonly CallCount[],
  ...subtrahends: readonly (readonly CallCount[])[]
): CallCount[] {
  return combine([minuend, ...subtrahends], [1, ...subtrahends.map(() => -1)]);
}

export function totalCalls(calls: readonly CallCount[]): number {
  return calls.reduce((sum, entry) => sum + entry.calls, 0);
}

/** Calls by service, and `total`, each divided by `jobs` and rounded to hundredths. */
export function perJob(calls: readonly CallCount[], jobs: number): Record<string, number> {
  const byService: Record<string, number> = {};
  for (const entry of calls) byService[entry.service] = (byService[entry.service] ?? 0) + entry.calls;
  const rate = (count: number) => Math.round((count / jobs) * 100) / 100;
  return {
    ...Object.fromEntries(
      Object.entries(byService)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([service, count]) => [service, rate(count)]),
    ),
    total: rate(totalCalls(calls)),
  };
}
