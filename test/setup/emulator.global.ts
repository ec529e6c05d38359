/**
 * Global setup of the integration project: one moto server for the whole run, reached by
 * the tests only through the standard AWS environment variables. Test workers are started
 * after this runs and inherit this process's environment.
 */
import type { TestProject } from 'vitest/node';
import { startEmulator, useEmulatorEndpoint } from '../../infra/local/emulator.js';

export default async function setup(_project: TestProject): Promise<() => Promise<void>> {
  const emulator = await startEmulator();
  useEmulatorEndpoint(emulator.endpoint);
  return async () => {
    await emulator.stop();
  };
}
