/**
 * The pilot's entry: `pilot --config <file.json>` (from source: `npx tsx pilot/agent/main.ts`).
 * Exits 0 after a clean stop (signal, idle, max jobs, drain), 3 when the control plane declared
 * it lost, 1 on a fatal error and 2 on bad usage; the daemon starts the next pilot either way.
 */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { Logger } from '@aws-lambda-powertools/logger';
import { CallCounter, createAwsClients } from '../../shared/aws/index.js';
import { ApiClient } from './api-client.js';
import { reapOrphanedCgroups } from './cgroups.js';
import { configArgument, runMain } from './cli.js';
import { defaultPilotId, loadPilotConfig, printableConfig, resolveRegion } from './config.js';
import { PILOT_EXIT, PILOT_VERSION } from './constants.js';
import { credentialsFileOf, fileCredentials, refuseEnvironmentCredentials } from './credentials.js';
import { setUpIsolation } from './isolation.js';
import { StatusOutbox } from './outbox.js';
import { Pilot, type StopReason } from './pilot.js';
import { computeSlots, detectResources } from './resources.js';
import { ResultSpool } from './spool.js';

const USAGE = 'usage: pilot --config <pilot-config.json>';

function exitCodeFor(reason: StopReason): number {
  if (reason === 'lost') return PILOT_EXIT.lost;
  if (reason === 'fatal') return PILOT_EXIT.fatal;
  return PILOT_EXIT.ok;
}

async function main(): Promise<number> {
  const configFile = configArgument(process.argv.slice(2), USAGE);
  if (configFile === null) return PILOT_EXIT.usage;
  // Listen first: a stop that comes while the pilot is still starting must not kill it mid-way.
  const logger = new Logger({ serviceName: 'spd-wms-pilot' });
  let pilot: Pilot | null = null;
  let signalled = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      signalled = true;
      logger.info('signal received', { signal });
      pilot?.stop('signal');
    });
  }
  const env = process.env;
  refuseEnvironmentCredentials(env);
  const config = await loadPilotConfig(configFile, env);
  const credentialsFile = await credentialsFileOf(config, env);
  const credentials =
    credentialsFile === null ? undefined : await fileCredentials(credentialsFile, config.credentialsProfile);
  // The file's region and S3 endpoint reach the SDK through its standard variables, which
  // the environment may already set (and then wins).
  env.AWS_REGION = resolveRegion(config, env);
  if (config.s3.endpoint && !env.AWS_ENDPOINT_URL_S3) env.AWS_ENDPOINT_URL_S3 = config.s3.endpoint;
  const pilotId = defaultPilotId(hostname(), randomBytes(4).toString('hex'));
  logger.appendPersistentKeys({ pilotId });

  const resources = await detectResources({ device: config.device, gpuCount: config.gpuCount });
  const slots = computeSlots(resources, config);
  await mkdir(config.workDir, { recursive: true });
  const isolation = await setUpIsolation(config, slots.length);
  logger.info('pilot starting', {
    version: PILOT_VERSION,
    config: printableConfig(config),
    resources,
    slots: slots.length,
    credentialsFile,
    payloadUsers: [...new Set(isolation.identities.map((identity) => identity?.user ?? null))],
    cgroups: { tracking: isolation.cgroups.tracking, memory: isolation.cgroups.memory },
  });
  for (const warning of isolation.warnings) logger.warn(`degraded isolation: ${warning}`);
  const reaped = await reapOrphanedCgroups(isolation.cgroups);
  if (reaped.length > 0) logger.warn('payloads left by a pilot that died were killed', { cgroups: reaped });

  const callCounter = new CallCounter();
  const apiCallCounter = new CallCounter();
  const clients = createAwsClients({
    callCounter,
    ...(credentials && { credentials }),
    ...(config.s3.forcePathStyle !== undefined &&
      !env.AWS_S3_FORCE_PATH_STYLE && { forcePathStyle: config.s3.forcePathStyle }),
  });
  const spool = new ResultSpool(config.spoolDir);
  await spool.open();
  pilot = new Pilot({
    config,
    pilotId,
    device: resources.device,
    slots,
    nodeHasGpus: resources.gpuIndexes.length > 0,
    sqs: clients.sqs,
    s3: clients.s3,
    api: new ApiClient({
      apiUrl: config.apiUrl,
      region: env.AWS_REGION,
      callCounter: apiCallCounter,
      ...(credentials && { credentials }),
    }),
    outbox: new StatusOutbox({ sqs: clients.sqs, queueUrl: config.statusQueueUrl, spool, logger }),
    logger,
    isolation,
  });
  if (signalled) pilot.stop('signal');
  const reason = await pilot.run();
  // SDK calls and API requests apart: the API's are requests to API Gateway, not SDK calls.
  logger.info('AWS API calls', { calls: callCounter.snapshot(), apiCalls: apiCallCounter.snapshot() });
  return exitCodeFor(reason);
}

runMain('pilot', main, PILOT_EXIT.fatal);
