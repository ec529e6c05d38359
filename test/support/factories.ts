/** Small, valid records for tests; every field can be overridden. */
import { createHash } from 'node:crypto';
import type { z } from 'zod';
import type { FileRecord, FileRef, OutputFile, TaskSpec } from '../../shared/model/index.js';
import type { NewFile, PilotRegistrationInput } from '../../shared/repositories/index.js';

const BUCKET = 'spd-data';

/** A `sha256:` checksum derived from `content`, so different names give different checksums. */
export function sha256Of(content: string): string {
  return `sha256:${createHash('sha256').update(content).digest('hex')}`;
}

export function taskSpec(overrides: Partial<z.input<typeof TaskSpec>> = {}): z.input<typeof TaskSpec> {
  return {
    name: 'reco-pass1',
    executable: '/opt/spd/bin/reco',
    args: ['--config', 'reco.yaml'],
    device: 'CPU',
    mode: 'map',
    maxRetries: 3,
    rank: 5,
    inputDatasetUid: 'ds-input-run42',
    outputDataset: 'run42-reco',
    logDataset: 'run42-reco-logs',
    ...overrides,
  };
}

export function fileRef(
  name: string,
  overrides: Partial<z.input<typeof FileRef>> = {},
): z.input<typeof FileRef> {
  return {
    name,
    location: { bucket: BUCKET, key: `raw/run42/${name}` },
    size: 1_000_000 + name.length,
    checksum: sha256Of(name),
    ...overrides,
  };
}

export function newFile(
  datasetUid: string,
  name: string,
  overrides: Partial<z.input<typeof FileRecord>> = {},
): NewFile {
  return { datasetUid, kind: 'input', ...fileRef(name), ...overrides };
}

export function outputFile(
  name: string,
  overrides: Partial<z.input<typeof OutputFile>> = {},
): z.input<typeof OutputFile> {
  return {
    name,
    kind: 'output',
    location: { bucket: BUCKET, key: `out/run42-reco/${name}` },
    size: 500_000,
    checksum: sha256Of(`out:${name}`),
    ...overrides,
  };
}

export function pilotRegistration(
  pilotId: string,
  overrides: Partial<PilotRegistrationInput> = {},
): PilotRegistrationInput {
  return { pilotId, host: 'node01.spd.local', device: 'CPU', slots: 8, version: '1.0.0', ...overrides };
}
