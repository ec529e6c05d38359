import { defineConfig } from 'vitest/config';
import { externalTestEndpoint, MOTO_ONLY_TESTS } from './test/setup/external-endpoint.js';
import { WaitingScenariosFirst } from './test/setup/sequencer.js';

const ignored = ['**/node_modules/**', '**/cdk.out/**', '**/.venv/**'];
/** On an external endpoint (`npm run test:endpoint`) the tests of moto itself cannot run. */
const notOnThisEndpoint = externalTestEndpoint() === undefined ? [] : MOTO_ONLY_TESTS;

export default defineConfig({
  test: {
    sequence: { sequencer: WaitingScenariosFirst },
    projects: [
      {
        // Pure tests without shared state: one module graph for all files (no per-file isolation)
        // cuts the run to a fraction, most of it otherwise spent importing the same modules.
        test: {
          name: 'unit',
          include: ['**/*.test.ts'],
          exclude: [...ignored, '**/*.int.test.ts', '**/*.e2e.test.ts'],
          isolate: false,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['**/*.int.test.ts'],
          exclude: [...ignored, ...notOnThisEndpoint],
          globalSetup: ['test/setup/emulator.global.ts'],
          setupFiles: ['test/setup/emulator.setup.ts'],
          // Two files at a time, each on its own emulator: most of a file's time is waiting (on
          // pilots, pollers, timers), so two overlap well even on two cores.
          maxWorkers: 2,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        // Whole-system scenarios: the embedded control plane, real pilot processes, real
        // payloads. Two files at a time, as in the integration project; their time limits
        // leave room for the load the other file puts on the machine.
        test: {
          name: 'e2e',
          include: ['**/*.e2e.test.ts'],
          exclude: ignored,
          globalSetup: ['test/setup/emulator.global.ts'],
          setupFiles: ['test/setup/emulator.setup.ts'],
          maxWorkers: 2,
          testTimeout: 180_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
