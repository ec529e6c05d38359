import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { AwsClientConfig, loadConfig } from '../config/index.js';
import { type CallCounter, processCallCounter } from './call-counter.js';
import type { AwsClients, AwsClientsOptions } from './types.js';

const CALL_COUNTER_MIDDLEWARE = 'wmsCallCounter';
const SDK_LOGGER_MIDDLEWARE = 'loggerMiddleware';

/** The clients with a stack of their own: the document client shares the DynamoDB client's. */
function sdkClients(clients: AwsClients) {
  return [clients.dynamo, clients.streams, clients.sqs, clients.s3, clients.eventBridge, clients.cloudWatch];
}

/** `DynamoDBClient` → `DynamoDB`, `PutObjectCommand` → `PutObject`. */
function serviceOf(clientName: string | undefined): string {
  return (clientName ?? 'unknown').replace(/Client$/, '');
}
function operationOf(commandName: string | undefined): string {
  return (commandName ?? 'unknown').replace(/Command$/, '');
}

/** An initialize-step middleware that fits every client's stack. */
function countingMiddleware(counter: CallCounter) {
  return <Args, Output>(
    next: (args: Args) => Promise<Output>,
    context: { clientName?: string; commandName?: string },
  ) =>
    (args: Args): Promise<Output> => {
      counter.record(serviceOf(context.clientName), operationOf(context.commandName));
      return next(args);
    };
}

/**
 * Makes every client count its calls into `counter`. The document client shares the
 * DynamoDB client's middleware stack, so its calls are counted there, once.
 */
export function addCallCounter(clients: AwsClients, counter: CallCounter): void {
  const middleware = countingMiddleware(counter);
  // The initialize step runs once per send(), before the SDK's own retries.
  const options = { step: 'initialize', name: CALL_COUNTER_MIDDLEWARE, override: true } as const;
  clients.dynamo.middlewareStack.add(middleware, options);
  clients.streams.middlewareStack.add(middleware, options);
  clients.sqs.middlewareStack.add(middleware, options);
  clients.s3.middlewareStack.add(middleware, options);
  clients.eventBridge.middlewareStack.add(middleware, options);
  clients.cloudWatch.middlewareStack.add(middleware, options);
}

/**
 * Builds the AWS clients from standard configuration only: the SDK reads AWS_ENDPOINT_URL,
 * AWS_ENDPOINT_URL_<SERVICE>, AWS_REGION and the credential chain itself, so the same code
 * reaches AWS, LocalStack or the embedded emulator.
 */
export function createAwsClients(options: AwsClientsOptions = {}): AwsClients {
  const forcePathStyle =
    options.forcePathStyle ?? loadConfig(AwsClientConfig, options.env ?? process.env).AWS_S3_FORCE_PATH_STYLE;
  const signer = options.credentials === undefined ? {} : { credentials: options.credentials };
  const dynamo = new DynamoDBClient({ ...signer });
  const clients: AwsClients = {
    dynamo,
    doc: DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } }),
    streams: new DynamoDBStreamsClient({ ...signer }),
    sqs: new SQSClient({ ...signer }),
    s3: new S3Client({ forcePathStyle, ...signer }),
    eventBridge: new EventBridgeClient({ ...signer }),
    cloudWatch: new CloudWatchClient({ ...signer }),
  };
  // No client is given a logger, yet the SDK's logger middleware would still filter every
  // input and output for a log line it throws away: a walk of each response (a stream
  // read's records, a query's items) through its schema, for nothing.
  for (const client of sdkClients(clients)) client.middlewareStack.remove(SDK_LOGGER_MIDDLEWARE);
  if (options.callCounter) addCallCounter(clients, options.callCounter);
  return clients;
}

let defaultClients: AwsClients | undefined;

/**
 * The process-wide clients, created on first use (a Lambda's cold start) and reused; counting
 * their calls when the process asked for it (`countProcessCalls`).
 */
export function awsClients(): AwsClients {
  if (!defaultClients) {
    const callCounter = processCallCounter();
    defaultClients = createAwsClients(callCounter ? { callCounter } : {});
  }
  return defaultClients;
}
