import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors/index.js';
import { jobIdFor } from '../ids/index.js';
import { FileRef as FileRefSchema } from '../model/index.js';
import { type FileRef, planJobs } from './index.js';

function fileRef(name: string): FileRef {
  return FileRefSchema.parse({
    name,
    location: { bucket: 'spd-input', key: `raw/${name}` },
    size: 1024,
    checksum: 'adler32:0badc0de',
  });
}

const namesArb = fc.uniqueArray(fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,20}$/), { maxLength: 60 });
const filesArb = namesArb.map((names) => names.map(fileRef));
const taskArb = fc.record({
  taskId: fc.stringMatching(/^t-[a-z0-9]{1,12}$/),
  mode: fc.constantFrom('map' as const, 'merge' as const),
  filesPerJob: fc.integer({ min: 1, max: 100 }),
});
const names = (files: readonly FileRef[]) => files.map((file) => file.name);

describe('planJobs', () => {
  it('makes one job per file in map mode, in name order', () => {
    const files = ['c.raw', 'a.raw', 'b.raw'].map(fileRef);

    const plan = planJobs({ taskId: 't-1', mode: 'map', filesPerJob: 1 }, files, { final: false });

    expect(plan.jobs.map((job) => names(job.inputs))).toEqual([['a.raw'], ['b.raw'], ['c.raw']]);
    expect(plan.jobs.map((job) => job.jobId)).toEqual(
      ['a.raw', 'b.raw', 'c.raw'].map((n) => jobIdFor('t-1', [n])),
    );
    expect(plan.unplanned).toEqual([]);
  });

  it('chunks merge jobs by filesPerJob in name order and plans the partial chunk when final', () => {
    const files = ['f5', 'f1', 'f4', 'f2', 'f3'].map(fileRef);

    const plan = planJobs({ taskId: 't-1', mode: 'merge', filesPerJob: 2 }, files, { final: true });

    expect(plan.jobs.map((job) => names(job.inputs))).toEqual([['f1', 'f2'], ['f3', 'f4'], ['f5']]);
    expect(plan.jobs[0]?.jobId).toBe(jobIdFor('t-1', ['f1', 'f2']));
    expect(plan.unplanned).toEqual([]);
  });

  it('leaves the partial merge chunk unplanned when not final', () => {
    const files = ['f5', 'f1', 'f4', 'f2', 'f3'].map(fileRef);

    const plan = planJobs({ taskId: 't-1', mode: 'merge', filesPerJob: 2 }, files, { final: false });

    expect(plan.jobs.map((job) => names(job.inputs))).toEqual([
      ['f1', 'f2'],
      ['f3', 'f4'],
    ]);
    expect(names(plan.unplanned)).toEqual(['f5']);
  });

  it('plans nothing for no files', () => {
    for (const mode of ['map', 'merge'] as const) {
      expect(planJobs({ taskId: 't-1', mode, filesPerJob: 3 }, [], { final: true })).toEqual({
        jobs: [],
        unplanned: [],
      });
    }
  });

  it('refuses duplicate file names and a bad task', () => {
    expect(() =>
      planJobs({ taskId: 't-1', mode: 'map', filesPerJob: 1 }, [fileRef('a'), fileRef('a')], { final: true }),
    ).toThrow(ValidationError);
    expect(() =>
      planJobs({ taskId: 't-1', mode: 'merge', filesPerJob: 0 }, [fileRef('a')], { final: true }),
    ).toThrow(/filesPerJob/);
    expect(() =>
      planJobs({ taskId: '', mode: 'map', filesPerJob: 1 }, [fileRef('a')], { final: true }),
    ).toThrow(/taskId/);
  });

  it('puts every file in exactly one job, or in unplanned, and respects the chunk size', () => {
    fc.assert(
      fc.property(taskArb, filesArb, fc.boolean(), (task, files, final) => {
        const plan = planJobs(task, files, { final });

        const planned = [...plan.jobs.flatMap((job) => names(job.inputs)), ...names(plan.unplanned)];
        expect([...planned].sort()).toEqual([...names(files)].sort());
        expect(new Set(planned).size).toBe(planned.length);
        const size = task.mode === 'map' ? 1 : task.filesPerJob;
        for (const job of plan.jobs) {
          expect(job.inputs.length).toBeGreaterThanOrEqual(1);
          expect(job.inputs.length).toBeLessThanOrEqual(size);
        }
        if (final || task.mode === 'map') expect(plan.unplanned).toEqual([]);
        else expect(plan.unplanned.length).toBeLessThan(size);
        expect(plan.jobs.filter((job) => job.inputs.length < size).length).toBeLessThanOrEqual(final ? 1 : 0);
      }),
    );
  });

  it('gives identical jobs and ids whatever the order of the files, and on every rerun', () => {
    fc.assert(
      fc.property(
        taskArb,
        filesArb.chain((files) =>
          fc.tuple(fc.constant(files), fc.shuffledSubarray(files, { minLength: files.length })),
        ),
        fc.boolean(),
        (task, [files, shuffled], final) => {
          const first = planJobs(task, files, { final });
          expect(planJobs(task, shuffled, { final })).toEqual(first);
          expect(planJobs(task, files, { final })).toEqual(first);
        },
      ),
    );
  });

  it('gives every job a distinct id matching its inputs', () => {
    fc.assert(
      fc.property(taskArb, filesArb, (task, files) => {
        const plan = planJobs(task, files, { final: true });
        const ids = plan.jobs.map((job) => job.jobId);
        expect(new Set(ids).size).toBe(ids.length);
        for (const job of plan.jobs) expect(job.jobId).toBe(jobIdFor(task.taskId, names(job.inputs)));
      }),
    );
  });

  it('plans a streaming merge task call by call as the closed dataset would be planned at once', () => {
    // Prepare: files arrive in batches; each non-final call receives the leftovers plus the new batch.
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        namesArb.map((all) => [...all].sort()),
        fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 20 }),
        (filesPerJob, sortedNames, batchSizes) => {
          const task = { taskId: 't-stream', mode: 'merge' as const, filesPerJob };
          const files = sortedNames.map(fileRef);
          let pending: FileRef[] = [];
          let offset = 0;
          const streamed = [];
          for (const size of batchSizes) {
            const plan = planJobs(task, [...pending, ...files.slice(offset, offset + size)], {
              final: false,
            });
            offset += size;
            streamed.push(...plan.jobs);
            pending = plan.unplanned;
          }
          streamed.push(...planJobs(task, [...pending, ...files.slice(offset)], { final: true }).jobs);

          // Assess: with files arriving in name order, the result equals one final call.
          expect(streamed).toEqual(planJobs(task, files, { final: true }).jobs);
        },
      ),
    );
  });
});
