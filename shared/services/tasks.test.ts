import { describe, expect, it } from 'vitest';
import { TaskSpec } from '../model/index.js';
import { specDifferences } from './index.js';

const spec = TaskSpec.parse({
  name: 'reco-pass1',
  executable: '/opt/spd/bin/reco',
  args: ['--config', 'reco.yaml'],
  device: 'CPU',
  rank: 5,
  inputDatasetUid: 'ds-input-run42',
  outputDataset: 'run42-reco',
  logDataset: 'run42-reco-logs',
});

describe('specDifferences', () => {
  it('finds none between a spec and itself, defaults included', () => {
    expect(specDifferences(spec, TaskSpec.parse({ ...spec }))).toEqual([]);
  });

  it('ignores the rank, which has its own command', () => {
    expect(specDifferences(spec, { ...spec, rank: 9 })).toEqual([]);
  });

  it('names every differing field, comparing arrays by content', () => {
    const changed = { ...spec, args: ['--config', 'other.yaml'], device: 'GPU' as const, streaming: true };
    expect(specDifferences(spec, changed)).toEqual(['args', 'device', 'streaming']);
    expect(specDifferences(spec, { ...spec, args: [...spec.args] })).toEqual([]);
  });

  it('tells an absent optional field from a present one', () => {
    expect(specDifferences(spec, { ...spec, workflowId: 'wf-7' })).toEqual(['workflowId']);
  });
});
