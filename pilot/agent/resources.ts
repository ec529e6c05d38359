import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { ConfigError } from '../../shared/errors/index.js';
import type { Device } from '../../shared/model/index.js';
import { GPU_DETECTION_TIMEOUT_MS } from './constants.js';

/** What a node offers, as detected or as configured. */
export interface NodeResources {
  device: Device;
  cores: number;
  /** Indexes of the GPUs the pilot may hand out (CUDA_VISIBLE_DEVICES values). */
  gpuIndexes: number[];
}

/** One job slot; a GPU slot owns one GPU. */
export interface Slot {
  index: number;
  gpuIndex: number | null;
}

/**
 * Parses `nvidia-smi --query-gpu=index --format=csv,noheader`: one index per line. Lines that
 * are not a plain index (warnings, blank lines) are ignored.
 */
export function parseGpuIndexes(output: string): number[] {
  return output
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => /^\d+$/.test(line))
    .map(Number);
}

/** The GPUs `nvidia-smi` (looked up on the PATH of `env`) lists; none when it is absent, fails or hangs. */
export function detectGpuIndexes(env: NodeJS.ProcessEnv = process.env): Promise<number[]> {
  return new Promise((resolve) => {
    execFile(
      'nvidia-smi',
      ['--query-gpu=index', '--format=csv,noheader'],
      { timeout: GPU_DETECTION_TIMEOUT_MS, encoding: 'utf8', env },
      (error, stdout) => resolve(error ? [] : parseGpuIndexes(stdout)),
    );
  });
}

/** Overrides from the configuration; each one replaces what detection would find. */
export interface ResourceOverrides {
  device?: Device | undefined;
  gpuCount?: number | undefined;
}

/**
 * The node's resources: GPUs from `nvidia-smi` unless `gpuCount` is set (then GPUs 0..n-1),
 * cores from the CPUs this process may use, device GPU when there is a GPU unless set.
 */
export async function detectResources(
  overrides: ResourceOverrides,
  env: NodeJS.ProcessEnv = process.env,
): Promise<NodeResources> {
  const gpuIndexes =
    overrides.gpuCount === undefined
      ? await detectGpuIndexes(env)
      : Array.from({ length: overrides.gpuCount }, (_, i) => i);
  return {
    device: overrides.device ?? (gpuIndexes.length > 0 ? 'GPU' : 'CPU'),
    cores: availableParallelism(),
    gpuIndexes,
  };
}

/**
 * The pilot's job slots. A CPU pilot has `slots` or else cores / coresPerSlot (at least one);
 * a GPU pilot has one slot per GPU, at most `slots` when set. A GPU pilot without GPUs is a
 * configuration error, not a pilot with zero slots.
 */
export function computeSlots(
  resources: NodeResources,
  config: { slots?: number | undefined; coresPerSlot: number },
): Slot[] {
  if (resources.device === 'GPU') {
    if (resources.gpuIndexes.length === 0) throw new ConfigError('device', 'is GPU but the node has no GPU');
    const count = Math.min(config.slots ?? resources.gpuIndexes.length, resources.gpuIndexes.length);
    return resources.gpuIndexes.slice(0, count).map((gpuIndex, index) => ({ index, gpuIndex }));
  }
  const count = config.slots ?? Math.max(1, Math.floor(resources.cores / config.coresPerSlot));
  return Array.from({ length: count }, (_, index) => ({ index, gpuIndex: null }));
}
