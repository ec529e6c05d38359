/**
 * Points this test worker's process, and every process it starts, at the emulator the global
 * setup started for it. Runs before the test file is imported, so clients built at import time
 * see it too.
 */
import { inject } from 'vitest';
import { useEmulatorEndpoint } from '../../infra/local/index.js';

const endpoints = inject('emulatorEndpoints');
const poolId = Number(process.env.VITEST_POOL_ID);
if (!Number.isInteger(poolId) || poolId < 1) {
  throw new Error(`VITEST_POOL_ID is ${process.env.VITEST_POOL_ID}: cannot choose this worker's emulator`);
}
useEmulatorEndpoint(endpoints[(poolId - 1) % endpoints.length]!);
