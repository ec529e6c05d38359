/**
 * The embedded runtime: given a synthesized template and an emulator endpoint, it creates
 * the template's resources in the emulator, runs its functions in worker threads and drives
 * them from the event sources the template declares (SQS and stream pollers, schedules, a
 * local API Gateway). Everything it starts comes from the template, and `wiring()` reports
 * what actually runs in the same shape as `describeWiring(template)`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DescribeEventBusCommand } from '@aws-sdk/client-eventbridge';
import { type AwsClients, type CallCount, CallCounter, createAwsClients } from '../../shared/aws/index.js';
import { LocalApi, type LocalApiStats } from './api-server.js';
import { RuntimeState } from './checkpoints.js';
import { RuntimeConfigurationError, TemplateError } from './errors.js';
import { FunctionPool, type FunctionStats, type LocalFunction } from './function-pool.js';
import { resolveIntrinsics } from './intrinsics.js';
import { readLiveWiring } from './live-wiring.js';
import { type RuntimeLog, stderrLog } from './log.js';
import {
  type Environment,
  type Provisioned,
  type ProvisionedResource,
  provisionResources,
} from './provision.js';
import { parseScheduleScale, rateIntervalMs } from './schedule-expression.js';
import { ScheduledRule, type ScheduledRuleStats } from './schedule-source.js';
import { SqsEventSource, type SqsEventSourceStats } from './sqs-source.js';
import { StreamEventSource, type StreamEventSourceStats } from './stream-source.js';
import { type CloudFormationTemplate, parseTemplate } from './template.js';
import type { Wiring } from './types.js';
import { describeApi, describeWiring } from './wiring.js';

const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/**
 * Invocations at once of a function without reserved concurrency. Lambda scales such a function
 * with its load (up to the account's limit); here ten at once, enough for an API request per
 * pilot slot of a node: with two, pilots' claims queued behind each other while their jobs
 * waited in the device queue.
 */
const DEFAULT_CONCURRENCY = 10;
const SCHEDULE_SCALE_VARIABLE = 'WMS_LOCAL_SCHEDULE_SCALE';
const MIN_SCHEDULE_INTERVAL_MS = 100;
/** The emulator needs path-style S3 addressing: a bucket cannot be a subdomain of 127.0.0.1. */
const FORCE_PATH_STYLE = 'true';
/**
 * Settings the runtime gives a function in place of the template's, where the template sets
 * them: moto makes no CloudWatch metrics of the functions' EMF log lines, so the dashboard's
 * throughput history is the Control table's per-minute record here.
 */
const EMBEDDED_SETTINGS: Readonly<Record<string, string>> = { THROUGHPUT_HISTORY: 'control-table' };
const SERVICE_ENDPOINT_VARIABLES = [
  'AWS_ENDPOINT_URL_SQS',
  'AWS_ENDPOINT_URL_DYNAMODB',
  'AWS_ENDPOINT_URL_DYNAMODB_STREAMS',
  'AWS_ENDPOINT_URL_S3',
  'AWS_ENDPOINT_URL_EVENTBRIDGE',
];

export interface LocalRuntimeOptions {
  /** The synthesized stack (a CloudFormation template object). */
  template: unknown;
  /** The emulator endpoint, e.g. http://127.0.0.1:5000. */
  endpoint: string;
  /** Physical names are `<prefix>-<readable logical id>`; random by default, so runtimes can share an emulator. */
  prefix?: string;
  /** Access key id → secret accepted by the local API; by default the credentials this process uses. */
  credentials?: Readonly<Record<string, string>>;
  /** Factor on every schedule period; default WMS_LOCAL_SCHEDULE_SCALE, else 1. */
  scheduleScale?: number;
  /** Port of the local API; 0 (default) picks a free one. */
  apiPort?: number;
  /** Concurrent invocations per function without ReservedConcurrentExecutions; default 10. */
  defaultConcurrency?: number;
  /** Where `spd:function` entries are resolved; the repository root by default. */
  projectRoot?: string;
  log?: RuntimeLog;
  /** Where the functions' own output (their JSON logs) goes; this process's stdout and stderr when absent. */
  functionOutput?: NodeJS.WritableStream;
}

export interface LocalResource {
  type: string;
  physicalName: string;
  arn?: string;
  url?: string;
  streamArn?: string;
}

export interface LocalFunctionInfo {
  logicalId: string;
  physicalName: string;
  arn: string;
  entryPath: string;
  concurrency: number;
}

export interface RuntimeStats {
  functions: Record<string, FunctionStats>;
  eventSources: Record<string, SqsEventSourceStats | StreamEventSourceStats>;
  schedules: Record<string, ScheduledRuleStats>;
  api: LocalApiStats | null;
  /** Every AWS call the runtime itself made (not its functions), by service and operation. */
  awsCalls: CallCount[];
}

export interface LocalRuntime {
  prefix: string;
  region: string;
  accountId: string;
  /** Null when the template declares no RestApi. */
  api: { url: string } | null;
  /** Every emulated resource but the functions, by logical id. */
  resources: Readonly<Record<string, LocalResource>>;
  /** The functions, by `spd:function` name. */
  functions: Readonly<Record<string, LocalFunctionInfo>>;
  /** What runs, read back from the pollers, schedules, routes and the emulator's rules. */
  wiring(): Promise<Wiring>;
  stats(): RuntimeStats;
  /**
   * A new access key the local API accepts, for one pilot: each pilot signs with its own, so
   * the API records it as the pilot's principal and only it may act for the pilot or read its
   * control queue (the emulator applies the queue's policy to the key).
   */
  mintCredentials(): MintedCredentials;
  /** Ends pollers, schedules, workers and the API; the emulator and its resources stay. */
  stop(): Promise<void>;
}

export interface MintedCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

const ACCESS_KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** An access key id shaped like IAM's (`AKIA` + 16 of A–Z, 2–7) and a 40-character secret. */
function newCredentials(): MintedCredentials {
  const id = [...randomBytes(16)]
    .map((byte) => ACCESS_KEY_ALPHABET[byte % ACCESS_KEY_ALPHABET.length])
    .join('');
  return { accessKeyId: `AKIA${id}`, secretAccessKey: randomBytes(30).toString('base64') };
}

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** What every part of the runtime is built from. */
interface Context {
  template: CloudFormationTemplate;
  wiring: Wiring;
  environment: Environment;
  credentials: Credentials;
  endpoint: string;
  clients: AwsClients;
  provisioned: Provisioned;
  /** Stream checkpoints and schedule times, kept in the emulator across restarts. */
  state: RuntimeState;
  log: RuntimeLog;
}

function normalizedEndpoint(url: string): string {
  return url.replace(/\/+$/, '');
}

/**
 * shared/aws builds clients from the standard variables only, so this process's
 * AWS_ENDPOINT_URL must be the emulator the runtime was given.
 */
function emulatorClients(endpoint: string, counter: CallCounter): AwsClients {
  const configured = process.env.AWS_ENDPOINT_URL;
  if (configured === undefined || normalizedEndpoint(configured) !== normalizedEndpoint(endpoint)) {
    throw new RuntimeConfigurationError(
      `AWS_ENDPOINT_URL is ${JSON.stringify(configured)}, but the runtime was given ${endpoint}: AWS clients are built from the standard variables, so set AWS_ENDPOINT_URL to the emulator`,
    );
  }
  const elsewhere = SERVICE_ENDPOINT_VARIABLES.filter((name) => {
    const value = process.env[name];
    return value !== undefined && normalizedEndpoint(value) !== normalizedEndpoint(endpoint);
  });
  if (elsewhere.length > 0) {
    throw new RuntimeConfigurationError(
      `${elsewhere.join(', ')} would send calls away from the emulator ${endpoint}`,
    );
  }
  return createAwsClients({ forcePathStyle: true, callCounter: counter });
}

function scheduleScaleOf(options: LocalRuntimeOptions): number {
  if (options.scheduleScale !== undefined) return parseScheduleScale(String(options.scheduleScale));
  const configured = process.env[SCHEDULE_SCALE_VARIABLE];
  return configured === undefined || configured === '' ? 1 : parseScheduleScale(configured);
}

async function accountIdOf(clients: AwsClients): Promise<string> {
  const bus = await clients.eventBridge.send(new DescribeEventBusCommand({ Name: 'default' }));
  const accountId = bus.Arn?.split(':')[4];
  if (!accountId)
    throw new RuntimeConfigurationError(`cannot read the account id from the default bus ARN ${bus.Arn}`);
  return accountId;
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new TemplateError(`${what} is missing after provisioning`);
  return value;
}

function provisionedResource(context: Context, logicalId: string): ProvisionedResource {
  return required(context.provisioned.resources.get(logicalId), logicalId);
}

/** The function's template variables, every intrinsic resolved to the emulator's values. */
function resolvedVariables(context: Context, logicalId: string): Record<string, string> {
  const declared = context.template.Resources[logicalId]?.Properties?.Environment as
    | { Variables?: unknown }
    | undefined;
  const resolved = resolveIntrinsics(
    declared?.Variables ?? {},
    context.provisioned.scope,
    `${logicalId}.Environment.Variables`,
  );
  const variables: Record<string, string> = {};
  for (const [name, value] of Object.entries(resolved as Record<string, unknown>)) {
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new TemplateError(
        `${logicalId}.Environment.Variables.${name}: resolves to ${JSON.stringify(value)}, not a string`,
      );
    }
    variables[name] = String(value);
  }
  return variables;
}

/** The function's template variables, with EMBEDDED_SETTINGS in place of those it sets. */
function embeddedVariables(declared: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const variables = { ...declared };
  for (const [name, value] of Object.entries(EMBEDDED_SETTINGS))
    if (name in variables) variables[name] = value;
  return variables;
}

/** Each function's worker: its template variables over the emulator's and Lambda's reserved ones. */
function localFunctions(
  context: Context,
  variables: ReadonlyMap<string, Record<string, string>>,
  options: LocalRuntimeOptions,
  projectRoot: string,
): LocalFunction[] {
  const { credentials, environment } = context;
  return context.wiring.functions.map((fn) => {
    const entryPath = resolve(projectRoot, fn.entry);
    if (!existsSync(entryPath)) {
      throw new TemplateError(
        `${fn.logicalId}: spd:function entry ${fn.entry} does not exist under ${projectRoot}`,
      );
    }
    const resource = provisionedResource(context, fn.logicalId);
    return {
      logicalId: fn.logicalId,
      name: fn.name,
      physicalName: resource.physicalName,
      arn: required(resource.arn, `${fn.logicalId} ARN`),
      entryPath,
      timeoutSeconds: fn.timeoutSeconds,
      memoryMb: fn.memoryMb,
      reservedConcurrency: fn.reservedConcurrency,
      concurrency: fn.reservedConcurrency ?? options.defaultConcurrency ?? DEFAULT_CONCURRENCY,
      environment: {
        AWS_ENDPOINT_URL: context.endpoint,
        AWS_REGION: environment.region,
        AWS_DEFAULT_REGION: environment.region,
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        ...(credentials.sessionToken !== undefined && { AWS_SESSION_TOKEN: credentials.sessionToken }),
        AWS_S3_FORCE_PATH_STYLE: FORCE_PATH_STYLE,
        AWS_LAMBDA_FUNCTION_NAME: resource.physicalName,
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
        ...embeddedVariables(variables.get(fn.logicalId)),
      },
      ...(options.functionOutput && { output: options.functionOutput }),
    };
  });
}

function eventSources(
  context: Context,
  pool: FunctionPool,
): { sqs: SqsEventSource[]; streams: StreamEventSource[] } {
  const { clients, log } = context;
  const { region } = context.environment;
  const sqs: SqsEventSource[] = [];
  const streams: StreamEventSource[] = [];
  for (const source of context.wiring.eventSources) {
    if (source.kind === 'sqs') {
      const queue = provisionedResource(context, source.queue);
      sqs.push(
        new SqsEventSource({
          wiring: source,
          queueUrl: required(queue.url, `${source.queue} URL`),
          queueArn: required(queue.arn, `${source.queue} ARN`),
          region,
          functionConcurrency: Math.max(pool.definition(source.function).concurrency, 1),
          clients,
          pool,
          log,
        }),
      );
      continue;
    }
    const table = provisionedResource(context, source.table);
    const onFailure =
      source.onFailureQueue === null ? null : provisionedResource(context, source.onFailureQueue);
    streams.push(
      new StreamEventSource({
        wiring: source,
        streamArn: required(table.streamArn, `${source.table} stream (StreamSpecification)`),
        region,
        functionArn: pool.definition(source.function).arn,
        onFailureQueueUrl:
          onFailure === null ? null : required(onFailure.url, `${source.onFailureQueue} URL`),
        checkpoints: context.state.streamCheckpoints(
          source.logicalId,
          required(table.streamArn, `${source.table} stream`),
        ),
        clients,
        pool,
        log,
      }),
    );
  }
  return { sqs, streams };
}

function scheduledRules(context: Context, pool: FunctionPool, scale: number): ScheduledRule[] {
  const queueUrls = new Map<string, string>();
  for (const [logicalId, resource] of context.provisioned.resources) {
    if (resource.url !== undefined) queueUrls.set(logicalId, resource.url);
  }
  return context.wiring.rules.flatMap((rule) => {
    if (rule.trigger.kind !== 'schedule') return [];
    const { expression } = rule.trigger;
    const intervalMs = Math.round(rateIntervalMs(expression) * scale);
    if (intervalMs < MIN_SCHEDULE_INTERVAL_MS) {
      throw new RuntimeConfigurationError(
        `${rule.logicalId}: ${expression} scaled by ${scale} is under ${MIN_SCHEDULE_INTERVAL_MS} ms`,
      );
    }
    return [
      new ScheduledRule({
        rule,
        ruleArn: required(provisionedResource(context, rule.logicalId).arn, `${rule.logicalId} ARN`),
        intervalMs,
        region: context.environment.region,
        accountId: context.environment.accountId,
        queueUrls,
        clients: context.clients,
        pool,
        log: context.log,
        state: context.state,
      }),
    ];
  });
}

function localApi(
  context: Context,
  credentials: ReadonlyMap<string, string>,
  pool: FunctionPool,
  port: number,
): LocalApi | null {
  const api = describeApi(context.template);
  if (api === null) return null;
  const { environment } = context;
  return new LocalApi({
    routes: context.wiring.routes,
    stageName: api.stageName,
    binaryMediaTypes: api.binaryMediaTypes,
    apiId: createHash('sha256').update(environment.prefix).digest('hex').slice(0, 10),
    region: environment.region,
    accountId: environment.accountId,
    partition: environment.partition,
    credentials,
    port,
    pool,
    log: context.log,
  });
}

/** Starts the runtime. If starting its pollers, schedules or API fails, what started is stopped again. */
export async function startLocalRuntime(options: LocalRuntimeOptions): Promise<LocalRuntime> {
  const template = parseTemplate(options.template);
  const wiring = describeWiring(template);
  const prefix = options.prefix ?? `wms${randomBytes(3).toString('hex')}`;
  const projectRoot = options.projectRoot ?? PROJECT_ROOT;
  const scheduleScale = scheduleScaleOf(options);
  const counter = new CallCounter();
  const clients = emulatorClients(options.endpoint, counter);
  const region = await clients.sqs.config.region();
  const credentials = await clients.sqs.config.credentials();
  const accountId = await accountIdOf(clients);
  const environment: Environment = {
    region,
    accountId,
    partition: 'aws',
    urlSuffix: 'amazonaws.com',
    prefix,
  };
  const provisioned = await provisionResources({
    template,
    environment,
    clients,
    rules: wiring.rules,
    functionIds: wiring.functions.map((fn) => fn.logicalId),
  });
  const state = await RuntimeState.open(clients, prefix);
  const context: Context = {
    template,
    wiring,
    environment,
    credentials,
    endpoint: options.endpoint,
    clients,
    provisioned,
    state,
    log: options.log ?? stderrLog,
  };

  const functionEnvironments = new Map(
    wiring.functions.map((fn) => [fn.logicalId, resolvedVariables(context, fn.logicalId)]),
  );
  const functions = localFunctions(context, functionEnvironments, options, projectRoot);
  const pool = new FunctionPool(functions);
  const sources = eventSources(context, pool);
  const pollers = [...sources.sqs, ...sources.streams];
  const schedules = scheduledRules(context, pool, scheduleScale);
  // Read by the local API at each request, so keys minted later are accepted at once.
  const apiCredentials = new Map(
    Object.entries(options.credentials ?? { [credentials.accessKeyId]: credentials.secretAccessKey }),
  );
  const api = localApi(context, apiCredentials, pool, options.apiPort ?? 0);

  const stop = async (): Promise<void> => {
    for (const poller of pollers) poller.abort();
    const schedulesStopped = Promise.all(schedules.map((schedule) => schedule.stop()));
    await api?.stop();
    await pool.stop();
    await Promise.all(pollers.map((poller) => poller.stop()));
    await schedulesStopped;
  };
  try {
    await api?.start();
    for (const poller of pollers) if (poller.wiring.enabled) poller.start();
    for (const schedule of schedules) if (schedule.rule.enabled) schedule.start();
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    prefix,
    region,
    accountId,
    api: api === null ? null : { url: api.url },
    resources: Object.fromEntries(
      [...provisioned.resources]
        .filter(([, resource]) => resource.type !== 'AWS::Lambda::Function')
        .map(([logicalId, resource]) => [logicalId, { ...resource }]),
    ),
    functions: Object.fromEntries(
      functions.map((fn) => [
        fn.name,
        {
          logicalId: fn.logicalId,
          physicalName: fn.physicalName,
          arn: fn.arn,
          entryPath: fn.entryPath,
          concurrency: fn.concurrency,
        },
      ]),
    ),
    wiring: () =>
      readLiveWiring({
        prefix,
        projectRoot,
        clients,
        resources: provisioned.resources,
        pool,
        functionEnvironments,
        sqsSources: sources.sqs,
        streamSources: sources.streams,
        schedules,
        routes: api?.routes ?? [],
      }),
    stats: () => ({
      functions: pool.stats(),
      eventSources: Object.fromEntries(
        pollers.map((poller) => [poller.wiring.logicalId, { ...poller.stats }]),
      ),
      schedules: Object.fromEntries(
        schedules.map((schedule) => [schedule.rule.logicalId, { ...schedule.stats }]),
      ),
      api: api === null ? null : { ...api.stats },
      awsCalls: counter.snapshot(),
    }),
    mintCredentials() {
      const minted = newCredentials();
      apiCredentials.set(minted.accessKeyId, minted.secretAccessKey);
      return minted;
    },
    stop,
  };
}
