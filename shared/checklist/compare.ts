import { compareCodePoints } from '../ids/index.js';
import { CHECKLIST_DIFFERENCES_SHOWN } from './constants.js';
import { NamesOutOfOrderError } from './errors.js';
import type { ChecklistComparison, ChecklistDifferences } from './types.js';

function differences(): ChecklistDifferences {
  return { count: 0, first: [] };
}

function note(found: ChecklistDifferences, name: string, shown: number): void {
  found.count += 1;
  if (found.first.length < shown) found.first.push(name);
}

/** One side of the walk: its next name, checked to come after the one before. */
class SortedCursor {
  current: string | undefined;
  position = 0;
  readonly #names: AsyncIterator<string>;
  readonly #side: 'registered' | 'checklist';

  constructor(names: AsyncIterable<string>, side: 'registered' | 'checklist') {
    this.#names = names[Symbol.asyncIterator]();
    this.#side = side;
  }

  /** Moves to the next name; `allowRepeat`: the same name again is returned, not refused. */
  async advance(allowRepeat: boolean): Promise<void> {
    const previous = this.current;
    const next = await this.#names.next();
    this.current = next.done ? undefined : next.value;
    if (this.current === undefined) return;
    this.position += 1;
    if (previous === undefined) return;
    const order = compareCodePoints(previous, this.current);
    if (order > 0 || (order === 0 && !allowRepeat)) throw new NamesOutOfOrderError(this.#side, this.position);
  }

  async close(): Promise<void> {
    await this.#names.return?.();
  }
}

/**
 * Compares a dataset's registered names with its checklist by walking both in code-point order
 * (compareCodePoints, the order DynamoDB lists a dataset's files in) one name at a time, so
 * memory is what the two sources hold (a page each), whatever the dataset's size. Registered
 * names are unique; a checklist name repeated is counted as duplicated. Every difference is
 * counted and the first `shown` of each kind are kept. A source out of order throws
 * NamesOutOfOrderError. Both sources are read to the end, so a source that verifies its
 * content as it is read (a checklist object) has done so when this returns.
 */
export async function compareSortedNames(
  registered: AsyncIterable<string>,
  checklist: AsyncIterable<string>,
  shown = CHECKLIST_DIFFERENCES_SHOWN,
): Promise<ChecklistComparison> {
  const left = new SortedCursor(registered, 'registered');
  const right = new SortedCursor(checklist, 'checklist');
  const missing = differences();
  const extra = differences();
  const duplicated = differences();
  try {
    await left.advance(false);
    await right.advance(true);
    let previousListed: string | undefined;
    while (left.current !== undefined || right.current !== undefined) {
      if (right.current !== undefined && right.current === previousListed) {
        note(duplicated, right.current, shown);
        await right.advance(true);
        continue;
      }
      const order =
        left.current === undefined
          ? 1
          : right.current === undefined
            ? -1
            : compareCodePoints(left.current, right.current);
      if (order <= 0) {
        if (order < 0) note(extra, left.current!, shown);
        await left.advance(false);
      }
      if (order >= 0) {
        if (order > 0) note(missing, right.current!, shown);
        previousListed = right.current;
        await right.advance(true);
      }
    }
  } finally {
    await Promise.all([left.close(), right.close()]);
  }
  const counts = { registered: left.position, listed: right.position };
  if (missing.count + extra.count + duplicated.count === 0) return { status: 'match', ...counts };
  return { status: 'mismatch', ...counts, missing, extra, duplicated };
}
