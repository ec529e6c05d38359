import { describe, expect, it } from 'vitest';
import { datasetFigures, JobTally, memoryOfStatus } from './dataset-figures.js';

const job = (state: string, createdAt: string, ...inputs: string[]) => ({
  state,
  createdAt,
  inputs: inputs.map((name) => ({ name })),
});

describe('the large-dataset scenario figures', () => {
  it('tallies jobs across pages: a file read by two jobs is a duplicate, whichever page it is on', () => {
    const tally = new JobTally();
    tally.add([job('DONE', '2026-12-07T00:00:01.000Z', 'a'), job('DONE', '2026-12-07T00:00:03.000Z', 'b')]);
    tally.add([
      job('RUNNING', '2026-12-07T00:00:02.000Z', 'c'),
      job('DONE', '2026-12-07T00:00:02.500Z', 'a'),
    ]);
    expect(tally).toMatchObject({
      jobs: 4,
      duplicates: 1,
      notDone: 1,
      lastCreatedMs: Date.parse('2026-12-07T00:00:03.000Z'),
    });
  });

  it('gives the announce rate and the times from the close, in seconds', () => {
    expect(
      datasetFigures({
        files: 2000,
        announceStarted: 10_000,
        allRegistered: 110_000,
        closePublished: 111_000,
        lastJobCreated: 131_500,
        taskDone: 200_000,
        outputsClosed: 203_250,
      }),
    ).toEqual({
      announce_files_per_s: 20,
      announce_s: 100,
      close_to_last_job_s: 20.5,
      close_to_task_done_s: 89,
      close_to_output_closed_s: 92.25,
      done_to_output_closed_s: 3.25,
    });
  });

  it('refuses moments out of order rather than print a negative time', () => {
    const moments = {
      files: 1,
      announceStarted: 0,
      allRegistered: 1,
      closePublished: 2,
      lastJobCreated: 3,
      taskDone: 5,
      outputsClosed: 4,
    };
    expect(() => datasetFigures(moments)).toThrow(/out of order/);
    expect(() =>
      datasetFigures({ ...moments, outputsClosed: 6, lastJobCreated: Number.NEGATIVE_INFINITY }),
    ).toThrow(/out of order/);
  });

  it('reads the resident and peak memory of a process status in MiB', () => {
    const status = 'Name:\tpython3\nVmHWM:\t  524288 kB\nVmRSS:\t  262144 kB\nThreads:\t12\n';
    expect(memoryOfStatus(status)).toEqual({ rss_mib: 256, peak_rss_mib: 512 });
    expect(() => memoryOfStatus('Name:\tx\n')).toThrow(/VmRSS/);
  });
});
