/**
 * Global setup of the projects that need AWS: one moto server per test worker, so two files
 * running at once do not queue behind each other in one emulator (moto serves one request at a
 * time per process). Each worker is pointed at its own through the standard AWS environment
 * variables by `emulator.setup.ts`.
 */
import type { TestProject } from 'vitest/node';
import { type Emulator, startEmulator } from '../../infra/local/emulator.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** One endpoint per worker, in the order of VITEST_POOL_ID (1-based). */
    emulatorEndpoints: string[];
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const workers = Math.max(1, Number(project.config.maxWorkers) || 1);
  const emulators: Emulator[] = [];
  try {
    for (let index = 0; index < workers; index += 1) emulators.push(await startEmulator());
  } catch (error) {
    await Promise.all(emulators.map((emulator) => emulator.stop()));
    throw error;
  }
  project.provide(
    'emulatorEndpoints',
    emulators.map((emulator) => emulator.endpoint),
  );
  return async () => {
    await Promise.all(emulators.map((emulator) => emulator.stop()));
  };
}
