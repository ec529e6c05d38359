import { Aws, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { type Caller, DETAIL_TYPES, EVENT_SOURCES, ROUTES } from '../../events/index.js';
import { DEFAULT_RELEASE_PREFIX } from '../../pilot/daemon/index.js';
import { STORAGE_KEY_PREFIXES } from '../../shared/model/index.js';
import type { TableKey } from '../../shared/repositories/index.js';
import { SLOT_FREE_JOB_STATES } from '../../shared/states/index.js';
import {
  apiExecutionLogs,
  apiLoggingOptions,
  buildDataBucket,
  deliverAccessLogsByBucketPolicy,
} from './audit-trail.js';
import { buildDashboard } from './dashboard.js';
import { FUNCTION_ACCESS, type FunctionName, type QueueAccess, type QueueKey } from './function-access.js';
import { acknowledge, acknowledgeWildcardResources, acknowledgeWildcardsBySid } from './nag.js';
import { buildTables } from './tables.js';
import { WmsFunction } from './wms-function.js';
import { WmsQueue } from './wms-queue.js';

export interface WmsStackProps extends StackProps {
  /**
   * Use an existing S3-compatible bucket (e.g. MinIO or Ceph RGW behind an S3 endpoint)
   * instead of creating one.
   */
  externalBucketName?: string;
  /** Keep tables and the bucket when the stack is deleted (default true). */
  retainData?: boolean;
  /**
   * Tunable settings given to every function as environment variables (see
   * docs/configuration.md), e.g. `{ PILOT_LOST_AFTER_SECONDS: '90' }`.
   */
  tunables?: Record<string, string>;
}

const PILOT_CONTROL_SUFFIX = 'pilot-';
const API_STAGE = 'v1';

/** The WMS control plane: tables, queues, bus, functions, API, policies and dashboard. */
export class WmsStack extends Stack {
  readonly tables: Record<TableKey, dynamodb.Table>;
  readonly queues: Record<string, WmsQueue>;
  readonly functions: Record<string, WmsFunction>;
  readonly api: apigateway.RestApi;
  readonly bus: events.EventBus;
  readonly bucket: s3.IBucket;
  readonly pilotPolicy: iam.ManagedPolicy;
  readonly wfmsPolicy: iam.ManagedPolicy;
  readonly operatorPolicy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: WmsStackProps = {}) {
    super(scope, id, props);
    deliverAccessLogsByBucketPolicy(this);
    const removalPolicy = props.retainData === false ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
    const alarmTopic = new sns.Topic(this, 'AlarmTopic', { displayName: 'SPD WMS alarms', enforceSSL: true });

    this.tables = buildTables(this, removalPolicy);
    this.bus = new events.EventBus(this, 'Bus', { eventBusName: `${this.stackName}-bus` });
    this.bucket = props.externalBucketName
      ? s3.Bucket.fromBucketName(this, 'Data', props.externalBucketName)
      : buildDataBucket(this, removalPolicy);

    const queue = (id: string, name: string, visibilitySeconds: number, maxReceiveCount: number) =>
      new WmsQueue(this, id, {
        name,
        visibilityTimeout: Duration.seconds(visibilitySeconds),
        maxReceiveCount,
        alarmTopic,
      });
    this.queues = {
      inboundFiles: queue('InboundFiles', 'inbound-files', 180, 5),
      datasetClose: queue('DatasetClose', 'dataset-close', 180, 20),
      datasetAdmin: queue('DatasetAdmin', 'dataset-admin', 180, 5),
      taskCommands: queue('TaskCommands', 'task-commands', 180, 10),
      jobGeneration: queue('JobGeneration', 'job-generation', 360, 5),
      status: queue('Status', 'status', 180, 5),
      // Pilots delete a job message right after the claim; the visibility only covers the claim.
      jobsCpu: queue('JobsCpu', 'jobs-cpu', 120, 10),
      jobsGpu: queue('JobsGpu', 'jobs-gpu', 120, 10),
    };
    const pilotControlDeadLetter = new sqs.Queue(this, 'PilotControlDeadLetter', {
      retentionPeriod: Duration.days(14),
      enforceSSL: true,
    });
    acknowledge(
      pilotControlDeadLetter,
      'AwsSolutions-SQS3',
      'It is the dead-letter queue of the pilot control queues, which name it in the redrive policy they are created with at run time',
    );
    const pilotControlAlarm = new cloudwatch.Alarm(this, 'PilotControlDeadLetterAlarm', {
      alarmDescription: 'Undeliverable pilot control commands',
      metric: pilotControlDeadLetter.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
      }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    pilotControlAlarm.addAlarmAction(new cloudwatchActions.SnsAction(alarmTopic));
    // Named after the bus, so deployments (and embedded runtimes) sharing an account never mix pilots.
    const pilotControlPrefix = `${this.bus.eventBusName}-${PILOT_CONTROL_SUFFIX}`;
    const pilotControlQueueArns = `arn:${Aws.PARTITION}:sqs:${Aws.REGION}:${Aws.ACCOUNT_ID}:${pilotControlPrefix}*`;

    const queueKeys: Record<QueueKey, { env: string; queue: sqs.IQueue }> = {
      jobsCpu: { env: 'JOBS_CPU_QUEUE_URL', queue: this.queues.jobsCpu!.queue },
      jobsGpu: { env: 'JOBS_GPU_QUEUE_URL', queue: this.queues.jobsGpu!.queue },
      jobGeneration: { env: 'JOB_GENERATION_QUEUE_URL', queue: this.queues.jobGeneration!.queue },
    };
    // Each function with the access FUNCTION_ACCESS lists for it, bound where it is defined.
    const fn = (name: FunctionName, timeoutSeconds: number, extra: { reservedConcurrency?: number } = {}) => {
      const f = new WmsFunction(this, `${pascal(name)}Function`, {
        name,
        timeout: Duration.seconds(timeoutSeconds),
        environment: { ...props.tunables },
        ...extra,
      });
      const access = FUNCTION_ACCESS[name];
      f.bindTables(this.tables, access.tables);
      for (const [key, queueAccess] of Object.entries(access.queues ?? {}) as [QueueKey, QueueAccess[]][])
        f.bindQueue(queueKeys[key].env, queueKeys[key].queue, queueAccess);
      if (access.putEvents) f.bindBus(this.bus);
      if (access.pilotControl) {
        f.fn.addEnvironment('PILOT_CONTROL_QUEUE_PREFIX', pilotControlPrefix);
        f.fn.addToRolePolicy(
          new iam.PolicyStatement({
            actions: access.pilotControl.map((action) => `sqs:${action}`),
            resources: [pilotControlQueueArns],
          }),
        );
        acknowledgeWildcardResources(
          f.fn.role!,
          [pilotControlQueueArns],
          "Pilot control queues are created at run time, one per pilot, under the deployment's name prefix",
        );
      }
      if (access.readObjects) {
        f.bindBucket(this.bucket, access.readObjects);
        acknowledgeWildcardResources(
          f.fn.role!,
          access.readObjects.map((pattern) => this.bucket.arnForObjects(pattern)),
          'The storage audit reads the objects that file records name, anywhere under the inputs and outputs prefixes',
        );
      }
      if (access.throughputHistory) {
        // On AWS the history is the functions' EMF metrics; the embedded runtime sets its own.
        f.fn.addEnvironment('THROUGHPUT_HISTORY', props.tunables?.THROUGHPUT_HISTORY ?? 'cloudwatch');
      }
      if (access.throughputHistory === 'read') {
        f.fn.addToRolePolicy(
          new iam.PolicyStatement({ actions: ['cloudwatch:GetMetricData'], resources: ['*'] }),
        );
        acknowledgeWildcardResources(
          f.fn.role!,
          ['*'],
          "CloudWatch authorizes GetMetricData only on resource *; the dashboard's history reads the WMS metrics with it",
        );
      }
      return f;
    };

    const api = fn('api', 29);
    // Only its URL, for GET /pilot-config (wms config pilot): the api function never uses the queue.
    api.fn.addEnvironment('STATUS_QUEUE_URL', this.queues.status!.queue.queueUrl);
    api.fn.addEnvironment('PILOT_CONTROL_DEAD_LETTER_ARN', pilotControlDeadLetter.queueArn);

    const fileInput = fn('file-input', 60);
    this.queues.inboundFiles!.consumeWith(fileInput, {
      batchSize: 10,
      maxBatchingWindow: Duration.seconds(1),
    });

    const datasetClose = fn('dataset-close', 60);
    this.queues.datasetClose!.consumeWith(datasetClose, { batchSize: 5 });

    const datasetAdmin = fn('dataset-admin', 30);
    this.queues.datasetAdmin!.consumeWith(datasetAdmin, { batchSize: 10 });

    const taskCommands = fn('task-commands', 60);
    this.queues.taskCommands!.consumeWith(taskCommands, { batchSize: 10 });

    const jobGenerator = fn('job-generator', 300);
    this.queues.jobGeneration!.consumeWith(jobGenerator, { batchSize: 1 });

    // One dispatcher at a time: the scheduler state is a single item.
    const dispatcher = fn('dispatcher', 60, { reservedConcurrency: 1 });
    // Job messages name the bucket; the dispatcher reads no object.
    dispatcher.bindBucket(this.bucket);
    const streamFailures = new WmsQueue(this, 'StreamFailures', {
      name: 'stream-failures',
      visibilityTimeout: Duration.seconds(60),
      maxReceiveCount: 5,
      alarmTopic,
    });
    // The stream read grant CDK adds includes dynamodb:ListStreams on resource `*`.
    const consumeStream = (
      consumer: WmsFunction,
      table: dynamodb.Table,
      filters: Record<string, unknown>[],
      batchingWindow = Duration.seconds(1),
    ) => {
      consumer.fn.addEventSource(
        new sources.DynamoEventSource(table, {
          startingPosition: lambda.StartingPosition.TRIM_HORIZON,
          batchSize: 100,
          maxBatchingWindow: batchingWindow,
          retryAttempts: 5,
          bisectBatchOnError: true,
          reportBatchItemFailures: true,
          onFailure: new sources.SqsDlq(streamFailures.queue),
          // An empty filter list is refused at deploy time; no filters means every record.
          ...(filters.length > 0 && {
            filters: filters.map((pattern) => lambda.FilterCriteria.filter(pattern)),
          }),
        }),
      );
      acknowledgeWildcardResources(
        consumer.fn.role!,
        ['*'],
        'A DynamoDB stream event source needs dynamodb:ListStreams, which DynamoDB authorizes only on resource *',
      );
    };
    // A slot frees or a job becomes dispatchable: dispatch. QUEUED/RUNNING changes are its own
    // writes and claims, so they do not re-trigger it. No batching window: a READY job waits for
    // the next stream poll, not a window more; passes never overlap (one at a time), so what
    // changes during a pass is batched into the next one anyway.
    const dispatchWindow = Duration.seconds(0);
    consumeStream(
      dispatcher,
      this.tables.jobs,
      [
        {
          dynamodb: {
            NewImage: {
              state: { S: lambda.FilterRule.or(...SLOT_FREE_JOB_STATES) },
            },
          },
        },
      ],
      dispatchWindow,
    );
    consumeStream(
      dispatcher,
      this.tables.pilots,
      [{ eventName: lambda.FilterRule.isEqual('INSERT') }],
      dispatchWindow,
    );
    new events.Rule(this, 'DispatchSchedule', {
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [new targets.LambdaFunction(dispatcher.fn)],
    });

    // The bucket's name only, no grant: a result is accepted only for files in it.
    const status = fn('status', 60).bindBucket(this.bucket);
    // No batching window: a result is applied as soon as it is received, so its slot counts as
    // free for the next dispatch pass at once. The pilot's outbox already gathers the results of
    // a quarter second into one message batch.
    this.queues.status!.consumeWith(status, { batchSize: 10 });

    const taskLifecycle = fn('task-lifecycle', 60);
    consumeStream(taskLifecycle, this.tables.tasks, []);

    const rankUpdater = fn('rank-updater', 60);
    consumeStream(rankUpdater, this.tables.jobs, [
      // Stream images carry numbers as strings, so `numeric` never matches: "not 0" means a retry.
      { dynamodb: { NewImage: { state: { S: ['READY'] }, attempt: { N: [{ 'anything-but': ['0'] }] } } } },
    ]);

    const watchdog = fn('watchdog', 300, { reservedConcurrency: 1 });
    // Orphan control queues are found by listing: SQS authorizes ListQueues only on resource `*`.
    watchdog.fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['sqs:ListQueues'], resources: ['*'] }));
    acknowledgeWildcardResources(
      watchdog.fn.role!,
      ['*'],
      'SQS authorizes ListQueues only on resource *; the watchdog lists the pilot control queues by name prefix',
    );
    new events.Rule(this, 'WatchdogSchedule', {
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [new targets.LambdaFunction(watchdog.fn)],
    });

    this.functions = {
      api,
      fileInput,
      datasetClose,
      datasetAdmin,
      taskCommands,
      jobGenerator,
      dispatcher,
      status,
      taskLifecycle,
      rankUpdater,
      watchdog,
    };

    // Inbound and outbound events: each detail type to its queue. The WMS's own dataset.close
    // for output datasets goes the same way, which is what chains workflow stages.
    const route = (id: string, detailTypes: string[], sourcesAllowed: string[], target: WmsQueue) =>
      new events.Rule(this, id, {
        eventBus: this.bus,
        eventPattern: { detailType: detailTypes, source: sourcesAllowed },
        targets: [new targets.SqsQueue(target.queue)],
      });
    route('FileInputRule', [DETAIL_TYPES.fileInput], [EVENT_SOURCES.dsm], this.queues.inboundFiles!);
    route(
      'DatasetCloseRule',
      [DETAIL_TYPES.datasetClose],
      [EVENT_SOURCES.dsm, EVENT_SOURCES.wms],
      this.queues.datasetClose!,
    );
    route(
      'DatasetAdminRule',
      [DETAIL_TYPES.datasetUpload, DETAIL_TYPES.datasetDelete],
      [EVENT_SOURCES.dsm],
      this.queues.datasetAdmin!,
    );
    route(
      'TaskCommandsRule',
      [DETAIL_TYPES.taskSubmitted, DETAIL_TYPES.taskCancel, DETAIL_TYPES.taskPriority],
      [EVENT_SOURCES.wfms, EVENT_SOURCES.operator, EVENT_SOURCES.wms],
      this.queues.taskCommands!,
    );

    this.api = new apigateway.RestApi(this, 'Api', {
      restApiName: `${this.stackName}-api`,
      description: 'SPD WMS REST API (IAM authorization)',
      defaultMethodOptions: { authorizationType: apigateway.AuthorizationType.IAM },
      deployOptions: {
        stageName: API_STAGE,
        metricsEnabled: true,
        throttlingRateLimit: 1000,
        throttlingBurstLimit: 2000,
        ...apiLoggingOptions(this, removalPolicy),
      },
      // API Gateway writes logs through the account's logging role; kept when the stack goes,
      // as every API of the account and region uses it.
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
    });
    apiExecutionLogs(this, this.api, API_STAGE, removalPolicy);
    acknowledge(
      this.api,
      'AwsSolutions-COG4',
      'Every method requires IAM (SigV4) authorization; callers are IAM principals, not Cognito users',
    );
    acknowledge(
      this.api,
      'AwsSolutions-APIG2',
      'The api function validates every request with the zod schemas of events/ and answers 400 naming the field',
    );
    acknowledge(
      this.api,
      'AwsSolutions-APIG3',
      "Only SigV4-signed requests of IAM principals reach the integration and the stage is throttled; a WAF web ACL is the deployer's choice (docs/deploy-aws.md)",
    );
    acknowledge(
      this.api,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      'The account-level role API Gateway writes logs with; AWS maintains this policy for exactly that',
    );
    const integration = new apigateway.LambdaIntegration(api.fn, { proxy: true });
    const methodArns: Record<Caller, string[]> = { wfms: [], operator: [], pilot: [] };
    for (const spec of ROUTES) {
      const resource = this.api.root.resourceForPath(spec.path);
      const method = resource.addMethod(spec.method, integration, {
        operationName: spec.operationId,
        authorizationType: apigateway.AuthorizationType.IAM,
      });
      for (const caller of spec.callers) methodArns[caller].push(method.methodArn);
    }

    this.pilotPolicy = new iam.ManagedPolicy(this, 'PilotPolicy', {
      description:
        'What a pilot may do: take jobs, report status, call the pilot routes, read inputs, write outputs and logs',
      statements: [
        new iam.PolicyStatement({
          sid: 'TakeJobs',
          actions: [
            'sqs:ReceiveMessage',
            'sqs:DeleteMessage',
            'sqs:ChangeMessageVisibility',
            'sqs:GetQueueAttributes',
          ],
          resources: [this.queues.jobsCpu!.queue.queueArn, this.queues.jobsGpu!.queue.queueArn],
        }),
        new iam.PolicyStatement({
          sid: 'ReportStatus',
          actions: ['sqs:SendMessage'],
          resources: [this.queues.status!.queue.queueArn],
        }),
        new iam.PolicyStatement({
          sid: 'ReadOwnControlQueue',
          actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage'],
          resources: [pilotControlQueueArns],
        }),
        new iam.PolicyStatement({
          sid: 'PilotRoutes',
          actions: ['execute-api:Invoke'],
          resources: methodArns.pilot,
        }),
        // Storage (shared/model STORAGE_KEY_PREFIXES): the DSM's inputs and the releases are
        // read-only to pilots; they write only the WMS's datasets, and the status function
        // registers a file only at its job's own place there.
        new iam.PolicyStatement({
          sid: 'ReadInputsOutputsAndReleases',
          actions: ['s3:GetObject'],
          resources: [
            this.bucket.arnForObjects(`${STORAGE_KEY_PREFIXES.inputs}/*`),
            this.bucket.arnForObjects(`${STORAGE_KEY_PREFIXES.wmsDatasets}/*`),
            this.bucket.arnForObjects(`${DEFAULT_RELEASE_PREFIX}/*`),
          ],
        }),
        new iam.PolicyStatement({
          sid: 'WriteOutputsAndLogs',
          actions: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
          resources: [this.bucket.arnForObjects(`${STORAGE_KEY_PREFIXES.wmsDatasets}/*`)],
        }),
      ],
    });
    this.wfmsPolicy = new iam.ManagedPolicy(this, 'WfmsClientPolicy', {
      description: 'What the workflow management system may do: the task routes and its own events',
      statements: [
        new iam.PolicyStatement({
          sid: 'TaskRoutes',
          actions: ['execute-api:Invoke'],
          resources: methodArns.wfms,
        }),
        new iam.PolicyStatement({
          sid: 'PutWorkflowEvents',
          actions: ['events:PutEvents'],
          resources: [this.bus.eventBusArn],
          conditions: { StringEquals: { 'events:source': EVENT_SOURCES.wfms } },
        }),
      ],
    });
    // The api function's operator routes: dead letters are inspected and redriven by name, each DLQ with the queue its messages go back to (none for the
    // streams' failure records and for undeliverable pilot commands). Queue names, not URLs:
    // Lambda allows 4 KB of environment.
    const operatorDeadLetters: Record<string, { deadLetter: sqs.IQueue; source?: sqs.IQueue }> = {
      ...Object.fromEntries(
        [...Object.values(this.queues), streamFailures].map((q) => [
          q.name,
          { deadLetter: q.deadLetterQueue, source: q.queue },
        ]),
      ),
      streams: { deadLetter: streamFailures.queue },
      'pilot-control': { deadLetter: pilotControlDeadLetter },
    };
    api.fn.addEnvironment(
      'OPERATOR_DEAD_LETTER_QUEUES',
      this.toJsonString(
        Object.fromEntries(
          Object.entries(operatorDeadLetters).map(([name, { deadLetter, source }]) => [
            name,
            { dlq: deadLetter.queueName, ...(source && { source: source.queueName }) },
          ]),
        ),
      ),
    );
    const deadLetterEntries = Object.values(operatorDeadLetters);
    api.fn.addToRolePolicy(
      new iam.PolicyStatement({
        // ChangeMessageVisibility: messages shown are made visible again; PurgeQueue: wms dlq purge.
        actions: [
          'sqs:GetQueueUrl',
          'sqs:ReceiveMessage',
          'sqs:DeleteMessage',
          'sqs:GetQueueAttributes',
          'sqs:ChangeMessageVisibility',
          'sqs:PurgeQueue',
        ],
        resources: deadLetterEntries.map(({ deadLetter }) => deadLetter.queueArn),
      }),
    );
    api.fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['sqs:GetQueueUrl', 'sqs:SendMessage'],
        resources: deadLetterEntries.flatMap(({ source }) => (source ? [source.queueArn] : [])),
      }),
    );

    const deadLetterArns = [
      ...Object.values(this.queues).map((q) => q.deadLetterQueue.queueArn),
      streamFailures.deadLetterQueue.queueArn,
      pilotControlDeadLetter.queueArn,
    ];
    const redriveSourceArns = [
      ...Object.values(this.queues).map((q) => q.queue.queueArn),
      streamFailures.queue.queueArn,
    ];
    this.operatorPolicy = new iam.ManagedPolicy(this, 'OperatorPolicy', {
      description:
        'What an operator may do: every route, operator events, dead-letter inspection and redrive, pilot releases',
      statements: [
        new iam.PolicyStatement({
          sid: 'AllRoutes',
          actions: ['execute-api:Invoke'],
          resources: methodArns.operator,
        }),
        new iam.PolicyStatement({
          sid: 'PutOperatorEvents',
          actions: ['events:PutEvents'],
          resources: [this.bus.eventBusArn],
          conditions: { StringEquals: { 'events:source': EVENT_SOURCES.operator } },
        }),
        new iam.PolicyStatement({
          sid: 'InspectAndRedriveDeadLetters',
          actions: [
            'sqs:ReceiveMessage',
            'sqs:DeleteMessage',
            'sqs:GetQueueAttributes',
            'sqs:StartMessageMoveTask',
            'sqs:ListMessageMoveTasks',
          ],
          resources: deadLetterArns,
        }),
        new iam.PolicyStatement({
          sid: 'RedriveTargets',
          actions: ['sqs:SendMessage'],
          resources: redriveSourceArns,
        }),
        // Publishing and rolling back signed pilot releases (docs/pilots.md): only operators
        // write there; pilots and daemons only read.
        new iam.PolicyStatement({
          sid: 'PublishPilotReleases',
          actions: ['s3:GetObject', 's3:PutObject'],
          resources: [this.bucket.arnForObjects(`${DEFAULT_RELEASE_PREFIX}/*`)],
        }),
      ],
    });

    const pathParameters =
      'Method ARNs hold * in place of each path parameter ({taskId}, {jobId}, ...); method and route are fixed';
    acknowledgeWildcardsBySid(this.pilotPolicy, {
      PilotRoutes: pathParameters,
      ReadOwnControlQueue:
        'Pilot control queues are created at run time, one per pilot, under the deployment name prefix',
      ReadInputsOutputsAndReleases:
        'Inputs, outputs and releases are read by key under their prefixes, which hold objects written at run time',
      WriteOutputsAndLogs:
        'Outputs and logs are written at run time under the prefix of the datasets the WMS writes',
    });
    acknowledgeWildcardsBySid(this.wfmsPolicy, { TaskRoutes: pathParameters });
    acknowledgeWildcardsBySid(this.operatorPolicy, {
      AllRoutes: pathParameters,
      PublishPilotReleases:
        'Each published release and its signed manifest is a new object under the release prefix',
    });

    buildDashboard(this, {
      queues: [...Object.values(this.queues), streamFailures],
      functions: Object.values(this.functions),
      alarmTopic,
    });

    const output = (id: string, value: string, description: string) =>
      new CfnOutput(this, id, { value, description });
    output('ApiUrl', this.api.url, 'REST API base URL (IAM/SigV4)');
    output('EventBusName', this.bus.eventBusName, 'EventBridge bus for DSM/WfMS events');
    output('DataBucketName', this.bucket.bucketName, 'Bucket for datasets and pilot releases');
    output('JobsCpuQueueUrl', this.queues.jobsCpu!.queue.queueUrl, 'CPU job queue');
    output('JobsGpuQueueUrl', this.queues.jobsGpu!.queue.queueUrl, 'GPU job queue');
    output('StatusQueueUrl', this.queues.status!.queue.queueUrl, 'Pilot status queue');
    output('PilotPolicyArn', this.pilotPolicy.managedPolicyArn, 'Attach to the pilot nodes role or user');
    output('WfmsPolicyArn', this.wfmsPolicy.managedPolicyArn, 'Attach to the WfMS client');
    output('OperatorPolicyArn', this.operatorPolicy.managedPolicyArn, 'Attach to operators');
    output('AlarmTopicArn', alarmTopic.topicArn, 'Subscribe to receive alarms');
  }
}

function pascal(name: string): string {
  return name
    .split('-')
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');
}
