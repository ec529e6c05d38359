/**
 * Global setup of the integration project: one moto server for the whole run, reached by
 * the tests only through the standard AWS environment variables. Test workers are started
 * after this runs and inherit this process's environment.
 */
import type { TestProject } from 'vitest/node';
import { startEmulator } from '../../infra/local/emulator.js';

export const EMULATOR_ENV = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_S3_FORCE_PATH_STYLE: 'true',
} as const;

export default async function setup(_project: TestProject): Promise<() => Promise<void>> {
  const emulator = await startEmulator();
  // A developer's service-specific endpoints would send some calls elsewhere.
  for (const name of Object.keys(process.env)) {
    if (name.startsWith('AWS_ENDPOINT_URL_')) delete process.env[name];
  }
  Object.assign(process.env, EMULATOR_ENV, { AWS_ENDPOINT_URL: emulator.endpoint });
  return async () => {
    await emulator.stop();
  };
}
