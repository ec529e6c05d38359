// `npm run test:endpoint`: the integration suite on the AWS-compatible endpoint named by
// WMS_LOCAL_ENDPOINT (LocalStack, a moto server of one's own) instead of moto servers the
// suite starts. Tests of moto itself are left out there (test/setup/external-endpoint.ts).
import { spawnSync } from 'node:child_process';

const endpoint = process.env.WMS_LOCAL_ENDPOINT;
if (!endpoint) {
  console.error('usage: WMS_LOCAL_ENDPOINT=http://localhost:4566 npm run test:endpoint [-- vitest filters]');
  process.exit(2);
}
const result = spawnSync('npx', ['vitest', 'run', '--project', 'integration', ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, WMS_TEST_ENDPOINT: endpoint },
});
process.exit(result.status ?? 1);
