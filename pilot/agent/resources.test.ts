import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../shared/errors/index.js';
import { computeSlots, detectGpuIndexes, detectResources, parseGpuIndexes } from './resources.js';

let root: string;

/** A directory whose only program is an `nvidia-smi` running `script`. */
async function fakeNvidiaSmi(name: string, script: string): Promise<string> {
  const dir = path.join(root, name);
  await mkdir(dir);
  const file = path.join(dir, 'nvidia-smi');
  await writeFile(file, `#!/bin/sh\n${script}\n`);
  await chmod(file, 0o755);
  return dir;
}

/** PATH with the fake first and /bin for `sh`; never the real nvidia-smi of a GPU node. */
function envWith(dir: string): NodeJS.ProcessEnv {
  return { PATH: `${dir}:/bin:/usr/bin` };
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'pilot-resources-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('parseGpuIndexes', () => {
  it('reads one index per line and ignores anything else', () => {
    expect(parseGpuIndexes('0\n1\n')).toEqual([0, 1]);
    expect(parseGpuIndexes(' 3 \r\n\nWarning: persistence mode is off\n5')).toEqual([3, 5]);
    expect(parseGpuIndexes('')).toEqual([]);
  });
});

describe('detectGpuIndexes with nvidia-smi on PATH', () => {
  it('finds one GPU', async () => {
    const dir = await fakeNvidiaSmi('one', 'echo 0');
    expect(await detectGpuIndexes(envWith(dir))).toEqual([0]);
  });

  it('finds two GPUs and passes the query nvidia-smi expects', async () => {
    const dir = await fakeNvidiaSmi(
      'two',
      '[ "$1" = "--query-gpu=index" ] && [ "$2" = "--format=csv,noheader" ] || exit 9\nprintf "0\\n1\\n"',
    );
    expect(await detectGpuIndexes(envWith(dir))).toEqual([0, 1]);
  });

  it('finds none when nvidia-smi fails (driver not loaded)', async () => {
    const dir = await fakeNvidiaSmi('failing', 'echo "NVIDIA-SMI has failed" >&2; echo 0; exit 9');
    expect(await detectGpuIndexes(envWith(dir))).toEqual([]);
  });

  it('finds none when there is no nvidia-smi', async () => {
    const empty = path.join(root, 'empty');
    await mkdir(empty);
    expect(await detectGpuIndexes({ PATH: empty })).toEqual([]);
  });
});

describe('detectResources', () => {
  it('makes a node with GPUs a GPU node with all its cores', async () => {
    const dir = await fakeNvidiaSmi('two-again', 'printf "0\\n1\\n"');
    expect(await detectResources({}, envWith(dir))).toEqual({
      device: 'GPU',
      cores: availableParallelism(),
      gpuIndexes: [0, 1],
    });
  });

  it('makes a node without GPUs a CPU node', async () => {
    expect(await detectResources({}, { PATH: path.join(root, 'nowhere') })).toMatchObject({
      device: 'CPU',
      gpuIndexes: [],
    });
  });

  it('lets the configuration set the GPU count and the device without asking nvidia-smi', async () => {
    const dir = await fakeNvidiaSmi('must-not-run', 'exit 1');
    expect(await detectResources({ gpuCount: 3 }, envWith(dir))).toMatchObject({
      device: 'GPU',
      gpuIndexes: [0, 1, 2],
    });
    expect(await detectResources({ gpuCount: 2, device: 'CPU' }, envWith(dir))).toMatchObject({
      device: 'CPU',
    });
  });
});

describe('computeSlots', () => {
  it('gives a CPU node cores / coresPerSlot slots, at least one, without GPUs', () => {
    const node = { device: 'CPU' as const, cores: 16, gpuIndexes: [] };
    expect(computeSlots(node, { coresPerSlot: 4 })).toHaveLength(4);
    expect(computeSlots(node, { coresPerSlot: 5 })).toHaveLength(3);
    expect(computeSlots(node, { coresPerSlot: 64 })).toEqual([{ index: 0, gpuIndex: null }]);
    expect(computeSlots(node, { slots: 7, coresPerSlot: 4 })).toHaveLength(7);
  });

  it('gives a GPU node one slot per GPU, each owning its GPU', () => {
    const node = { device: 'GPU' as const, cores: 64, gpuIndexes: [0, 2, 3] };
    expect(computeSlots(node, { coresPerSlot: 1 })).toEqual([
      { index: 0, gpuIndex: 0 },
      { index: 1, gpuIndex: 2 },
      { index: 2, gpuIndex: 3 },
    ]);
    expect(computeSlots(node, { slots: 2, coresPerSlot: 1 })).toEqual([
      { index: 0, gpuIndex: 0 },
      { index: 1, gpuIndex: 2 },
    ]);
    expect(computeSlots(node, { slots: 10, coresPerSlot: 1 })).toHaveLength(3);
  });

  it('refuses a GPU device on a node without GPUs', () => {
    expect(() => computeSlots({ device: 'GPU', cores: 8, gpuIndexes: [] }, { coresPerSlot: 1 })).toThrow(
      ConfigError,
    );
  });
});
