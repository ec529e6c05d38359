/**
 * The pilot daemon's entry: `daemon --config <daemon-config.json>` (from source:
 * `npx tsx pilot/daemon/main.ts`). Runs until SIGTERM or SIGINT, which it passes to the pilot.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { createAwsClients } from '../../shared/aws/index.js';
import {
  configArgument,
  credentialsFileOf,
  fileCredentials,
  refuseEnvironmentCredentials,
  runMain,
} from '../agent/index.js';
import { loadDaemonConfig, loadReleasePublicKey, PilotDaemon } from './daemon.js';

const USAGE = 'usage: daemon --config <daemon-config.json>';
const EXIT = { ok: 0, fatal: 1, usage: 2 } as const;

async function main(): Promise<number> {
  const configFile = configArgument(process.argv.slice(2), USAGE);
  if (configFile === null) return EXIT.usage;
  // The pilot inherits the daemon's environment: no secret may be in it (see credentials.ts).
  refuseEnvironmentCredentials(process.env);
  const config = await loadDaemonConfig(configFile);
  const releasePublicKey = await loadReleasePublicKey(config);
  const logger = new Logger({ serviceName: 'spd-wms-pilot-daemon' });
  const credentialsFile = await credentialsFileOf(config, process.env);
  logger.info('daemon starting', { config, credentialsFile });
  const credentials =
    credentialsFile === null ? undefined : await fileCredentials(credentialsFile, config.credentialsProfile);
  const daemon = new PilotDaemon(
    config,
    createAwsClients(credentials ? { credentials } : {}).s3,
    logger,
    releasePublicKey,
  );
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => daemon.stop(signal));
  await daemon.run();
  return EXIT.ok;
}

runMain('daemon', main, EXIT.fatal);
