/**
 * Global setup of the projects that need AWS: one moto server per test worker, so two files
 * running at once do not queue behind each other in one emulator (moto serves one request at a
 * time per process). Each worker is pointed at its own through the standard AWS environment
 * variables by `emulator.setup.ts`. Under `npm run test:endpoint` every worker uses the
 * external endpoint instead, and no moto is started.
 */
import type { TestProject } from 'vitest/node';
import { type Emulator, startEmulator } from '../../infra/local/index.js';
import { externalTestEndpoint, MOTO_ONLY_TESTS } from './external-endpoint.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** One endpoint per worker, in the order of VITEST_POOL_ID (1-based). */
    emulatorEndpoints: string[];
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const workers = Math.max(1, Number(project.config.maxWorkers) || 1);
  const external = externalTestEndpoint();
  if (external !== undefined) {
    console.log(
      `${project.name}: on the endpoint ${external}; left out, as they test moto itself: ${MOTO_ONLY_TESTS.join(', ')}`,
    );
    project.provide('emulatorEndpoints', [external]);
    return async () => {};
  }
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
