import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareNames } from '../ids/index.js';
import { planJobs } from '../jobgen/index.js';
import { FileRef, type TaskRecord } from '../model/index.js';
import { LIST_PAGE_SIZE } from './datasets.js';
import { generationPageSize, isStreamingMapTask, planPage } from './generation.js';

function fileRef(name: string): FileRef {
  return FileRef.parse({
    name,
    location: { bucket: 'spd-input', key: `raw/${name}` },
    size: 1,
    checksum: 'adler32:0badc0de',
  });
}

const taskArb = fc.record({
  taskId: fc.stringMatching(/^t-[a-z0-9]{1,12}$/),
  mode: fc.constantFrom('map' as const, 'merge' as const),
  filesPerJob: fc.integer({ min: 1, max: 100 }),
});
// Sorted like the files table returns them: pages come in name order.
const sortedFilesArb = fc
  .uniqueArray(fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,12}$/), { maxLength: 80 })
  .map((names) => [...names].sort(compareNames).map(fileRef));

/** Cuts `files` into consecutive pages at the given (sorted, deduplicated) cut points. */
function paginate<T>(files: readonly T[], cuts: readonly number[]): T[][] {
  const bounds = [...new Set(cuts.map((cut) => cut % (files.length + 1)))].sort((a, b) => a - b);
  const pages: T[][] = [];
  let start = 0;
  for (const bound of [...bounds, files.length]) {
    pages.push(files.slice(start, bound));
    start = bound;
  }
  return pages;
}

describe('generationPageSize', () => {
  it('is the most whole merge chunks that fit a page', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 1, max: LIST_PAGE_SIZE }),
        (filesPerJob, max) => {
          const size = generationPageSize({ mode: 'merge', filesPerJob }, max);

          expect(size % filesPerJob).toBe(0);
          expect(size).toBeLessThanOrEqual(Math.max(max, filesPerJob));
          expect(size + filesPerJob).toBeGreaterThan(max);
        },
      ),
    );
  });

  it('reads full pages in map mode', () => {
    expect(generationPageSize({ mode: 'map', filesPerJob: 1 })).toBe(LIST_PAGE_SIZE);
  });
});

describe('planPage', () => {
  it('plans, page by page with the carried files, exactly the jobs of planning every file at once', () => {
    fc.assert(
      fc.property(
        taskArb,
        sortedFilesArb,
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.boolean(),
        (task, files, cuts, closed) => {
          const pages = paginate(files, cuts);
          const jobs = [];
          let carried: FileRef[] = [];
          for (const [index, page] of pages.entries()) {
            const plan = planPage(task, carried, page, closed && index === pages.length - 1);
            jobs.push(...plan.jobs);
            carried = plan.carried;
          }

          const whole = planJobs(task, files, { final: closed });
          expect(jobs).toEqual(whole.jobs);
          expect(carried).toEqual(whole.unplanned);
        },
      ),
    );
  });

  it('carries an unfinished merge chunk to the next page', () => {
    const task = { taskId: 't-1', mode: 'merge' as const, filesPerJob: 3 };

    const first = planPage(task, [], ['a', 'b', 'c', 'd'].map(fileRef), false);
    const second = planPage(task, first.carried, ['e', 'f', 'g'].map(fileRef), true);

    expect(first.jobs.map((job) => job.inputs.map((file) => file.name))).toEqual([['a', 'b', 'c']]);
    expect(second.jobs.map((job) => job.inputs.map((file) => file.name))).toEqual([['d', 'e', 'f'], ['g']]);
    expect(second.carried).toEqual([]);
  });
});

describe('isStreamingMapTask', () => {
  const task: Pick<TaskRecord, 'streaming' | 'mode' | 'inputDatasetUid' | 'state'> = {
    streaming: true,
    mode: 'map',
    inputDatasetUid: 'ds-in',
    state: 'RUNNING',
  };

  it('holds for a RUNNING streaming map task reading the dataset', () => {
    expect(isStreamingMapTask(task, 'ds-in')).toBe(true);
  });

  it.each([
    ['not streaming', { streaming: false }, 'ds-in'],
    ['in merge mode', { mode: 'merge' as const }, 'ds-in'],
    ['not running', { state: 'REGISTERED' as const }, 'ds-in'],
    ['reading another dataset', {}, 'ds-other'],
  ])('does not hold for a task %s', (_label, change, datasetUid) => {
    expect(isStreamingMapTask({ ...task, ...change }, datasetUid)).toBe(false);
  });
});
