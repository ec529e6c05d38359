import { describe, expect, it } from 'vitest';
import { parseBenchArguments, USAGE } from './arguments.js';

describe('the bench command line', () => {
  it('runs the standard measures alone by default, as it always has', () => {
    expect(parseBenchArguments([])).toEqual({
      jobs: 1000,
      slots: 16,
      pilots: 1,
      scalingJobs: 10_000,
      out: undefined,
      datasetFiles: null,
      datasetOut: undefined,
      standard: true,
      settings: {},
    });
  });

  it('takes function settings with --set, each checked against the schemas of the functions that read it', () => {
    expect(
      parseBenchArguments(['--set', 'TASK_COUNTER_SHARDS=1', '--set', 'DISPATCH_HEADROOM_FRACTION=0.5']),
    ).toMatchObject({ settings: { TASK_COUNTER_SHARDS: '1', DISPATCH_HEADROOM_FRACTION: '0.5' } });
    expect(() => parseBenchArguments(['--set', 'TASK_COUNTER_SHARDS'])).toThrow(/--set takes NAME=VALUE/);
    expect(() => parseBenchArguments(['--set', 'TASK_COUNTER_SHARD=1'])).toThrow(
      /TASK_COUNTER_SHARD: no function reads this setting/,
    );
    expect(() => parseBenchArguments(['--set', 'TASK_COUNTER_SHARDS=65'])).toThrow(/TASK_COUNTER_SHARDS=65/);
    expect(() =>
      parseBenchArguments(['--set', 'TASK_COUNTER_SHARDS=1', '--set', 'TASK_COUNTER_SHARDS=2']),
    ).toThrow(/names TASK_COUNTER_SHARDS twice/);
  });

  it('answers --help and -h with the usage instead of an unknown-option error', () => {
    expect(parseBenchArguments(['--help'])).toBe('help');
    expect(parseBenchArguments(['-h'])).toBe('help');
    for (const option of ['--dataset-files', '--skip-standard', '--scaling-jobs', '--set', '--help'])
      expect(USAGE).toContain(option);
  });

  it('runs the large-dataset scenario alone with --skip-standard', () => {
    expect(
      parseBenchArguments(['--dataset-files', '100000', '--skip-standard', '--dataset-out', 'd.json']),
    ).toMatchObject({ datasetFiles: 100_000, datasetOut: 'd.json', standard: false });
    expect(parseBenchArguments(['--dataset-files', '2000'])).toMatchObject({
      datasetFiles: 2000,
      standard: true,
    });
  });

  it('refuses what cannot run, naming the option, with the usage', () => {
    expect(() => parseBenchArguments(['--skip-standard'])).toThrow(/without --dataset-files[\s\S]*usage:/);
    expect(() => parseBenchArguments(['--dataset-files', '1e5'])).toThrow(
      /--dataset-files must be a positive integer/,
    );
    expect(() => parseBenchArguments(['--jobs', '0'])).toThrow(/--jobs must be a positive integer/);
    expect(() => parseBenchArguments(['--slots', '16', '--pilots', '3'])).toThrow(
      /16 slots do not divide among 3/,
    );
    expect(() => parseBenchArguments(['--fast'])).toThrow(/--fast[\s\S]*usage:/);
  });
});
