/**
 * For tests of the api and task-commands functions: API Gateway REST proxy events and Lambda
 * contexts shaped as API Gateway and Lambda make them, and the resources the stack gives them.
 */
import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { CreateEventBusCommand, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEvent, Context, SQSEvent } from 'aws-lambda';
import type { AwsClients } from '../../shared/aws/index.js';
import { createRepositories, type TableNames } from '../../shared/repositories/index.js';
import { ControlTableHistory } from '../../shared/throughput/index.js';
import { createTables, uniquePrefix } from '../../test/support/index.js';
import { ApiConfig } from './config.js';
import type { ApiDeps } from './operations.js';

export interface ProxyRequest {
  method: string;
  /** The path after the stage, e.g. `/tasks/t-1/cancel`. */
  path: string;
  /** The route's template, e.g. `/tasks/{taskId}/cancel`; the path itself when not given. */
  resource?: string;
  query?: Record<string, string>;
  /** An object is sent as JSON; a string as it is. */
  body?: unknown;
  headers?: Record<string, string>;
  /** The body's Content-Type; application/json by default, none when null. */
  contentType?: string | null;
  /** The access key the request is signed with (API Gateway's caller); one fixed key by default. */
  accessKey?: string;
}

const ACCOUNT = '123456789012';
const API_ID = 'a1b2c3d4e5';
const ACCESS_KEY = 'AKIAWMSTESTCALLER';

export function proxyEvent(request: ProxyRequest): APIGatewayProxyEvent {
  const requestId = randomUUID();
  const body =
    request.body === undefined
      ? null
      : typeof request.body === 'string'
        ? request.body
        : JSON.stringify(request.body);
  const contentType = request.contentType === undefined ? 'application/json' : request.contentType;
  const headers = {
    Host: `${API_ID}.execute-api.us-east-1.amazonaws.com`,
    ...(contentType !== null && { 'Content-Type': contentType }),
    'X-Forwarded-Proto': 'https',
    ...request.headers,
  };
  const accessKey = request.accessKey ?? ACCESS_KEY;
  const resource = request.resource ?? request.path;
  return {
    resource,
    path: request.path,
    httpMethod: request.method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
    queryStringParameters: request.query ?? null,
    multiValueQueryStringParameters: request.query
      ? Object.fromEntries(Object.entries(request.query).map(([name, value]) => [name, [value]]))
      : null,
    pathParameters: null,
    stageVariables: null,
    requestContext: {
      accountId: ACCOUNT,
      apiId: API_ID,
      resourceId: 'r1',
      resourcePath: resource,
      httpMethod: request.method,
      path: `/v1${request.path}`,
      stage: 'v1',
      protocol: 'HTTP/1.1',
      requestId,
      extendedRequestId: requestId,
      requestTimeEpoch: Date.now(),
      domainName: headers.Host,
      domainPrefix: API_ID,
      authorizer: null,
      identity: {
        accessKey,
        accountId: ACCOUNT,
        caller: accessKey,
        user: accessKey,
        userArn: `arn:aws:iam::${ACCOUNT}:user/${accessKey}`,
        sourceIp: '127.0.0.1',
        userAgent: 'wms-tests',
        apiKey: null,
        apiKeyId: null,
        principalOrgId: null,
        cognitoIdentityPoolId: null,
        cognitoIdentityId: null,
        cognitoAuthenticationType: null,
        cognitoAuthenticationProvider: null,
        clientCert: null,
      },
    },
    body,
    isBase64Encoded: false,
  };
}

export function lambdaContext(functionName: string, remainingMs = 29_000): Context {
  const deadline = Date.now() + remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `test/${functionName}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** The resources the stack gives the api and task-commands functions, made in the emulator. */
export interface FunctionResources {
  env: Record<string, string>;
  tables: TableNames;
  queues: {
    jobGeneration: string;
    jobsCpu: string;
    jobsGpu: string;
    taskCommands: string;
    taskCommandsArn: string;
    taskCommandsDeadLetter: string;
  };
  eventBusName: string;
  controlQueuePrefix: string;
  /** The data bucket: archived tasks' exports are read from it. */
  dataBucket: string;
}

async function createQueue(sqs: SQSClient, name: string): Promise<{ url: string; arn: string }> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  return { url: QueueUrl!, arn: Attributes!.QueueArn! };
}

/**
 * Tables, queues and a bus under a unique prefix, with the environment variables the stack
 * sets for them. Task commands put on the bus reach `queues.taskCommands`, as by the stack's rule.
 */
export async function createFunctionResources(
  label: string,
  clients: AwsClients,
): Promise<FunctionResources> {
  const prefix = uniquePrefix(label);
  const tables = await createTables(prefix, clients.dynamo);
  const [jobGeneration, jobsCpu, jobsGpu, taskCommands, taskCommandsDeadLetter, controlDeadLetter, status] =
    await Promise.all(
      [
        'job-generation',
        'jobs-cpu',
        'jobs-gpu',
        'task-commands',
        'task-commands-dlq',
        'control-dlq',
        'status',
      ].map((name) => createQueue(clients.sqs, `${prefix}-${name}`)),
    );
  const eventBusName = `${prefix}-bus`;
  await clients.eventBridge.send(new CreateEventBusCommand({ Name: eventBusName }));
  await clients.eventBridge.send(
    new PutRuleCommand({
      Name: `${prefix}-task-commands`,
      EventBusName: eventBusName,
      EventPattern: JSON.stringify({ 'detail-type': ['task.submitted', 'task.cancel', 'task.priority'] }),
    }),
  );
  await clients.eventBridge.send(
    new PutTargetsCommand({
      Rule: `${prefix}-task-commands`,
      EventBusName: eventBusName,
      Targets: [{ Id: 'queue', Arn: taskCommands!.arn }],
    }),
  );
  const controlQueuePrefix = `${prefix}-pilot-`;
  const dataBucket = `${prefix}-data`.toLowerCase();
  await clients.s3.send(new CreateBucketCommand({ Bucket: dataBucket }));
  const env = {
    TASKS_TABLE: tables.tasks,
    JOBS_TABLE: tables.jobs,
    FILES_TABLE: tables.files,
    DATASETS_TABLE: tables.datasets,
    PILOTS_TABLE: tables.pilots,
    CONTROL_TABLE: tables.control,
    EVENT_BUS_NAME: eventBusName,
    JOBS_CPU_QUEUE_URL: jobsCpu!.url,
    JOBS_GPU_QUEUE_URL: jobsGpu!.url,
    JOB_GENERATION_QUEUE_URL: jobGeneration!.url,
    STATUS_QUEUE_URL: status!.url,
    PILOT_CONTROL_QUEUE_PREFIX: controlQueuePrefix,
    PILOT_CONTROL_DEAD_LETTER_ARN: controlDeadLetter!.arn,
    OPERATOR_DEAD_LETTER_QUEUES: JSON.stringify({
      'task-commands': { dlq: `${prefix}-task-commands-dlq`, source: `${prefix}-task-commands` },
      'pilot-control': { dlq: `${prefix}-control-dlq` },
    }),
    SOURCE_QUEUE_URL: taskCommands!.url,
    DEAD_LETTER_QUEUE_URL: taskCommandsDeadLetter!.url,
    SOURCE_MAX_RECEIVE_COUNT: '3',
    // The emulator makes no metrics of EMF logs: the history is the Control table's record.
    THROUGHPUT_HISTORY: 'control-table',
    DATA_BUCKET: dataBucket,
  };
  return {
    env,
    tables,
    queues: {
      jobGeneration: jobGeneration!.url,
      jobsCpu: jobsCpu!.url,
      jobsGpu: jobsGpu!.url,
      taskCommands: taskCommands!.url,
      taskCommandsArn: taskCommands!.arn,
      taskCommandsDeadLetter: taskCommandsDeadLetter!.url,
    },
    eventBusName,
    controlQueuePrefix,
    dataBucket,
  };
}

/** Receives and deletes every message now visible in a queue. */
export async function drainQueue(sqs: SQSClient, queueUrl: string): Promise<Message[]> {
  const received: Message[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
      }),
    );
    if (Messages.length === 0) return received;
    received.push(...Messages);
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: Messages.map((message, index) => ({
          Id: String(index),
          ReceiptHandle: message.ReceiptHandle!,
        })),
      }),
    );
  }
}

/** The Lambda SQS event the event source mapping makes of received messages. */
export function sqsEventOf(messages: readonly Message[], queueArn: string): SQSEvent {
  return {
    Records: messages.map((message) => ({
      messageId: message.MessageId!,
      receiptHandle: message.ReceiptHandle!,
      body: message.Body!,
      attributes: {
        ApproximateReceiveCount: message.Attributes?.ApproximateReceiveCount ?? '1',
        SentTimestamp: message.Attributes?.SentTimestamp ?? String(Date.now()),
        SenderId: message.Attributes?.SenderId ?? 'AIDAEVENTBRIDGE',
        ApproximateFirstReceiveTimestamp:
          message.Attributes?.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      },
      messageAttributes: {},
      md5OfBody: message.MD5OfBody!,
      eventSource: 'aws:sqs',
      eventSourceARN: queueArn,
      awsRegion: queueArn.split(':')[3]!,
    })),
  };
}

/** The api function's dependencies over these clients and resources, as its entry builds them; quiet. */
export function apiDepsOf(
  clients: AwsClients,
  resources: FunctionResources,
  tables = resources.tables,
): ApiDeps {
  const repos = createRepositories({ doc: clients.doc, tables });
  return {
    repos,
    sqs: clients.sqs,
    eventBridge: clients.eventBridge,
    s3: clients.s3,
    config: ApiConfig.parse(resources.env),
    logger: new Logger({ logLevel: 'SILENT' }),
    throughput: new ControlTableHistory(repos.control),
  };
}
