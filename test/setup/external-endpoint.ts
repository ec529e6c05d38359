/**
 * `npm run test:endpoint`: the integration suite on an existing AWS-compatible endpoint
 * (LocalStack, a moto server of one's own) instead of moto servers the global setup starts.
 * Every suite still creates its own uniquely named resources there.
 */

/** Set by scripts/test-endpoint.mjs from WMS_LOCAL_ENDPOINT. */
export const TEST_ENDPOINT_VARIABLE = 'WMS_TEST_ENDPOINT';

/**
 * Tests of moto itself, not of the system on an endpoint: the emulator's launcher and the
 * project's patch of moto's DynamoDB. They are left out on an external endpoint (and only there).
 */
export const MOTO_ONLY_TESTS = ['infra/local/emulator.int.test.ts', 'infra/local/moto/patch.int.test.ts'];

export function externalTestEndpoint(env: Readonly<Record<string, string | undefined>> = process.env) {
  return env[TEST_ENDPOINT_VARIABLE] || undefined;
}
