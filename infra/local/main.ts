/**
 * The WMS on the embedded default, no cloud account needed: starts the AWS emulator on
 * loopback (or attaches to an existing AWS-compatible endpoint), synthesizes the real stack,
 * runs it with the embedded runtime and prints the endpoints as one JSON object on stdout, and
 * on stderr the `export` lines another shell sources to use it (also written to `--env-file`).
 * SIGINT or SIGTERM stops everything it started; an attached endpoint keeps its state.
 *
 *   npx tsx infra/local/main.ts [--endpoint URL] [--prefix wms] [--emulator-port N] [--api-port N]
 *                               [--schedule-scale F] [--env-file FILE]
 *
 * `--endpoint` (or WMS_LOCAL_ENDPOINT) attaches instead of starting moto; started again on the
 * same endpoint with the same prefix and API port (`--api-port` or WMS_LOCAL_API_PORT), the
 * runtime finds its resources and checkpoints there and carries on where the last one stopped.
 *
 * The process is configured for the emulator through the standard variables
 * (AWS_ENDPOINT_URL, region, credentials); the emulator accepts any credentials, so the
 * emulator test pair is used unless AWS_ACCESS_KEY_ID is set. Service-specific endpoint
 * variables are removed: they would send calls elsewhere.
 */
// First: on a Node too old for the runtime's workers, stop before anything starts.
import '../../scripts/check-node.mjs';
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { configuredEndpoint, startOrAttach } from './attach.js';
import { useEmulatorEndpoint } from './emulator.js';
import { exportLines } from './exports.js';
import { type LocalRuntime, startLocalRuntime } from './runtime.js';

/** Bundling is for deployment; the runtime imports the TypeScript entries directly. */
const SKIP_BUNDLING_CONTEXT = { 'aws:cdk:bundling-stacks': [] };
const API_PORT_VARIABLE = 'WMS_LOCAL_API_PORT';

function integerOption(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > 65_535)
    throw new Error(`${name} must be a port number, got ${text}`);
  return value;
}

/** The real stack's template; imported lazily so this module loads without the CDK app. */
async function synthesizeWmsStack(): Promise<Record<string, unknown>> {
  const [{ App }, { buildApp }] = await Promise.all([import('aws-cdk-lib'), import('../app.js')]);
  const { app, stack } = buildApp(new App({ context: SKIP_BUNDLING_CONTEXT }));
  return app.synth().getStackByName(stack.stackName).template as Record<string, unknown>;
}

function summary(runtime: LocalRuntime, endpoint: string): Record<string, unknown> {
  const resources = Object.values(runtime.resources);
  const names = (type: string) =>
    resources.filter((resource) => resource.type === type).map((resource) => resource.physicalName);
  return {
    emulator: endpoint,
    region: runtime.region,
    accountId: runtime.accountId,
    accessKeyId: process.env.AWS_ACCESS_KEY_ID,
    prefix: runtime.prefix,
    apiUrl: runtime.api?.url ?? null,
    queues: Object.fromEntries(
      resources
        .filter((resource) => resource.type === 'AWS::SQS::Queue')
        .map((resource) => [resource.physicalName, resource.url]),
    ),
    buckets: names('AWS::S3::Bucket'),
    eventBuses: names('AWS::Events::EventBus'),
    tables: names('AWS::DynamoDB::Table'),
    functions: Object.keys(runtime.functions),
    /** By logical id, so tools can find a construct's resource. */
    resources: runtime.resources,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      endpoint: { type: 'string' },
      prefix: { type: 'string', default: 'wms' },
      'emulator-port': { type: 'string' },
      'api-port': { type: 'string' },
      'schedule-scale': { type: 'string' },
      'env-file': { type: 'string' },
    },
  });
  const endpoint = configuredEndpoint(values.endpoint);
  if (endpoint !== undefined && values['emulator-port'] !== undefined)
    throw new Error('--emulator-port starts an emulator; it cannot be combined with --endpoint');
  const apiPort =
    values['api-port'] !== undefined
      ? integerOption('--api-port', values['api-port'])
      : integerOption(API_PORT_VARIABLE, process.env[API_PORT_VARIABLE] || undefined);
  const emulator = await startOrAttach({
    endpoint,
    port: integerOption('--emulator-port', values['emulator-port']),
  });
  let runtime: LocalRuntime | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await runtime?.stop();
      await emulator.stop();
    })();
    return stopping;
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void stop().then(() => process.exit(0));
    });
  }
  try {
    useEmulatorEndpoint(emulator.endpoint);
    const template = await synthesizeWmsStack();
    runtime = await startLocalRuntime({
      template,
      endpoint: emulator.endpoint,
      prefix: values.prefix,
      apiPort,
      ...(values['schedule-scale'] !== undefined && { scheduleScale: Number(values['schedule-scale']) }),
    });
  } catch (error) {
    await stop();
    throw error;
  }
  process.stdout.write(`${JSON.stringify(summary(runtime, emulator.endpoint), null, 2)}\n`);
  const exports = exportLines({
    AWS_ENDPOINT_URL: emulator.endpoint,
    AWS_REGION: runtime.region,
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY,
    WMS_API_URL: runtime.api?.url,
  });
  if (values['env-file'] !== undefined)
    await writeFile(values['env-file'], `${exports.join('\n')}\n`, { mode: 0o600 });
  process.stderr.write(
    `\n# To use this runtime from another shell (the wms CLI), paste or source these lines${values['env-file'] === undefined ? '' : ` (written to ${values['env-file']})`}:\n${exports.join('\n')}\n`,
  );
}

try {
  await main();
} catch (error) {
  process.stderr.write(
    `wms-local: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
}
