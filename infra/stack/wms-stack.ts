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
import { DETAIL_TYPES, EVENT_SOURCES } from '../../events/index.js';
import { type Caller, ROUTES } from '../../events/routes.js';
import type { TableKey } from '../../shared/repositories/tables.js';
import { buildDashboard } from './dashboard.js';
import { buildTables, TABLE_ENV } from './tables.js';
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
    const removalPolicy = props.retainData === false ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
    const alarmTopic = new sns.Topic(this, 'AlarmTopic', { displayName: 'SPD WMS alarms' });

    this.tables = buildTables(this, removalPolicy);
    this.bus = new events.EventBus(this, 'Bus', { eventBusName: `${this.stackName}-bus` });
    this.bucket = props.externalBucketName
      ? s3.Bucket.fromBucketName(this, 'Data', props.externalBucketName)
      : new s3.Bucket(this, 'Data', {
          blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
          encryption: s3.BucketEncryption.S3_MANAGED,
          enforceSSL: true,
          removalPolicy,
        });

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

    const fn = (name: string, timeoutSeconds: number, extra: { reservedConcurrency?: number } = {}) =>
      new WmsFunction(this, `${pascal(name)}Function`, {
        name,
        timeout: Duration.seconds(timeoutSeconds),
        environment: { ...props.tunables },
        ...extra,
      });
    const bindAllTables = (f: WmsFunction, access: 'read' | 'readWrite') => {
      for (const key of Object.keys(this.tables) as TableKey[])
        f.bindTable(TABLE_ENV[key], this.tables[key], access);
      return f;
    };
    const bindPilotControl = (f: WmsFunction, manage: boolean) => {
      f.fn.addEnvironment('PILOT_CONTROL_QUEUE_PREFIX', pilotControlPrefix);
      const actions = ['sqs:SendMessage', 'sqs:GetQueueUrl'];
      if (manage)
        actions.push('sqs:CreateQueue', 'sqs:DeleteQueue', 'sqs:SetQueueAttributes', 'sqs:TagQueue');
      f.fn.addToRolePolicy(new iam.PolicyStatement({ actions, resources: [pilotControlQueueArns] }));
    };

    const api = bindAllTables(fn('api', 29), 'readWrite').bindBus(this.bus);
    api.bindQueue('JOBS_CPU_QUEUE_URL', this.queues.jobsCpu!.queue, 'sendAndInspect');
    api.bindQueue('JOBS_GPU_QUEUE_URL', this.queues.jobsGpu!.queue, 'sendAndInspect');
    api.bindQueue('JOB_GENERATION_QUEUE_URL', this.queues.jobGeneration!.queue, 'send');
    // Only its URL, for GET /pilot-config (wms config pilot): the api function never uses the queue.
    api.fn.addEnvironment('STATUS_QUEUE_URL', this.queues.status!.queue.queueUrl);
    api.fn.addEnvironment('PILOT_CONTROL_DEAD_LETTER_ARN', pilotControlDeadLetter.queueArn);
    bindPilotControl(api, true);

    const fileInput = bindAllTables(fn('file-input', 60), 'readWrite');
    this.queues.inboundFiles!.consumeWith(fileInput, {
      batchSize: 10,
      maxBatchingWindow: Duration.seconds(1),
    });

    const datasetClose = bindAllTables(fn('dataset-close', 60), 'readWrite');
    datasetClose.bindQueue('JOB_GENERATION_QUEUE_URL', this.queues.jobGeneration!.queue, 'send');
    this.queues.datasetClose!.consumeWith(datasetClose, { batchSize: 5 });

    const datasetAdmin = bindAllTables(fn('dataset-admin', 30), 'readWrite');
    this.queues.datasetAdmin!.consumeWith(datasetAdmin, { batchSize: 10 });

    const taskCommands = bindAllTables(fn('task-commands', 60), 'readWrite').bindBus(this.bus);
    taskCommands.bindQueue('JOB_GENERATION_QUEUE_URL', this.queues.jobGeneration!.queue, 'send');
    bindPilotControl(taskCommands, false);
    this.queues.taskCommands!.consumeWith(taskCommands, { batchSize: 10 });

    const jobGenerator = bindAllTables(fn('job-generator', 300), 'readWrite');
    jobGenerator.bindQueue('JOB_GENERATION_QUEUE_URL', this.queues.jobGeneration!.queue, 'send');
    this.queues.jobGeneration!.consumeWith(jobGenerator, { batchSize: 1 });

    // One dispatcher at a time: the scheduler state is a single item.
    const dispatcher = bindAllTables(fn('dispatcher', 60, { reservedConcurrency: 1 }), 'readWrite');
    dispatcher.bindQueue('JOBS_CPU_QUEUE_URL', this.queues.jobsCpu!.queue, 'sendAndInspect');
    dispatcher.bindQueue('JOBS_GPU_QUEUE_URL', this.queues.jobsGpu!.queue, 'sendAndInspect');
    dispatcher.bindBucket(this.bucket, 'read');
    const streamFailures = new WmsQueue(this, 'StreamFailures', {
      name: 'stream-failures',
      visibilityTimeout: Duration.seconds(60),
      maxReceiveCount: 5,
      alarmTopic,
    });
    const streamSource = (
      table: dynamodb.Table,
      filters: Record<string, unknown>[],
      batchingWindow = Duration.seconds(1),
    ) =>
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
      });
    // A slot frees or a job becomes dispatchable: dispatch. QUEUED/RUNNING changes are its own
    // writes and claims, so they do not re-trigger it. No batching window: a READY job waits for
    // the next stream poll, not a window more; passes never overlap (one at a time), so what
    // changes during a pass is batched into the next one anyway.
    const dispatchWindow = Duration.seconds(0);
    dispatcher.fn.addEventSource(
      streamSource(
        this.tables.jobs,
        [
          {
            dynamodb: {
              NewImage: {
                state: { S: lambda.FilterRule.or('READY', 'DONE', 'FAILED', 'CANCELLED', 'LOST') },
              },
            },
          },
        ],
        dispatchWindow,
      ),
    );
    dispatcher.fn.addEventSource(
      streamSource(this.tables.pilots, [{ eventName: lambda.FilterRule.isEqual('INSERT') }], dispatchWindow),
    );
    new events.Rule(this, 'DispatchSchedule', {
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [new targets.LambdaFunction(dispatcher.fn)],
    });

    const status = bindAllTables(fn('status', 60), 'readWrite').bindBus(this.bus);
    // No batching window: a result is applied as soon as it is received, so its slot counts as
    // free for the next dispatch pass at once. The pilot's outbox already gathers the results of
    // a quarter second into one message batch.
    this.queues.status!.consumeWith(status, { batchSize: 10 });

    const taskLifecycle = bindAllTables(fn('task-lifecycle', 60), 'readWrite').bindBus(this.bus);
    taskLifecycle.fn.addEventSource(streamSource(this.tables.tasks, []));

    const rankUpdater = bindAllTables(fn('rank-updater', 60), 'readWrite');
    rankUpdater.fn.addEventSource(
      streamSource(this.tables.jobs, [
        // Stream images carry numbers as strings, so `numeric` never matches: "not 0" means a retry.
        { dynamodb: { NewImage: { state: { S: ['READY'] }, attempt: { N: [{ 'anything-but': ['0'] }] } } } },
      ]),
    );

    const watchdog = bindAllTables(fn('watchdog', 300, { reservedConcurrency: 1 }), 'readWrite').bindBus(
      this.bus,
    );
    watchdog.bindBucket(this.bucket, 'read');
    watchdog.bindQueue('JOBS_CPU_QUEUE_URL', this.queues.jobsCpu!.queue, 'sendAndInspect');
    watchdog.bindQueue('JOBS_GPU_QUEUE_URL', this.queues.jobsGpu!.queue, 'sendAndInspect');
    bindPilotControl(watchdog, true);
    // Orphan control queues are found by listing: SQS authorizes ListQueues only on resource `*`.
    watchdog.fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['sqs:ListQueues'], resources: ['*'] }));
    watchdog.fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['sqs:GetQueueAttributes'], resources: [pilotControlQueueArns] }),
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
        stageName: 'v1',
        metricsEnabled: true,
        throttlingRateLimit: 1000,
        throttlingBurstLimit: 2000,
      },
      cloudWatchRole: false,
    });
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
        new iam.PolicyStatement({
          sid: 'ReadInputsAndReleases',
          actions: ['s3:GetObject'],
          resources: [this.bucket.arnForObjects('datasets/*'), this.bucket.arnForObjects('pilot/releases/*')],
        }),
        new iam.PolicyStatement({
          sid: 'WriteOutputsAndLogs',
          actions: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
          resources: [this.bucket.arnForObjects('datasets/*')],
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
    // The api function's operator routes: the audit reads storage; dead letters are inspected
    // and redriven by name, each DLQ with the queue its messages go back to (none for the
    // streams' failure records and for undeliverable pilot commands). Queue names, not URLs:
    // Lambda allows 4 KB of environment.
    api.bindBucket(this.bucket, 'read');
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
        'What an operator may do: every route, operator events, dead-letter inspection and redrive',
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
      ],
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
