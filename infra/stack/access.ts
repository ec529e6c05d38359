import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { EVENT_SOURCES } from '../../events/index.js';
import { DEFAULT_RELEASE_PREFIX } from '../../pilot/daemon/index.js';
import { STORAGE_KEY_PREFIXES } from '../../shared/model/index.js';
import type { WmsApi } from './api.js';
import type { WmsData } from './data.js';
import { FUNCTION_ACCESS, type FunctionName, type QueueAccess, type QueueKey } from './function-access.js';
import type { WmsMessaging } from './messaging.js';
import { acknowledgeWildcardResources, acknowledgeWildcardsBySid } from './nag.js';
import type { WmsFunction } from './wms-function.js';

/** The environment variable each queue of `FUNCTION_ACCESS` is bound to. */
const QUEUE_ENV: Record<QueueKey, string> = {
  jobsCpu: 'JOBS_CPU_QUEUE_URL',
  jobsGpu: 'JOBS_GPU_QUEUE_URL',
  jobGeneration: 'JOB_GENERATION_QUEUE_URL',
};

export interface FunctionAccessResources {
  data: WmsData;
  messaging: WmsMessaging;
  /** The deployment's tunables; THROUGHPUT_HISTORY among them overrides the default. */
  tunables?: Record<string, string>;
}

/** Binds to function `f` the access `FUNCTION_ACCESS` lists for `name`: environment and grants. */
export function bindFunctionAccess(
  f: WmsFunction,
  name: FunctionName,
  resources: FunctionAccessResources,
): void {
  const { data, messaging, tunables } = resources;
  const access = FUNCTION_ACCESS[name];
  f.bindTables(data.tables, access.tables);
  for (const [key, queueAccess] of Object.entries(access.queues ?? {}) as [QueueKey, QueueAccess[]][])
    f.bindQueue(QUEUE_ENV[key], messaging.queues[key].queue, queueAccess);
  if (access.putEvents) f.bindBus(messaging.bus);
  if (access.pilotControl) {
    f.fn.addEnvironment('PILOT_CONTROL_QUEUE_PREFIX', messaging.pilotControl.prefix);
    f.fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: access.pilotControl.map((action) => `sqs:${action}`),
        resources: [messaging.pilotControl.arns],
      }),
    );
    acknowledgeWildcardResources(
      f.fn.role!,
      [messaging.pilotControl.arns],
      "Pilot control queues are created at run time, one per pilot, under the deployment's name prefix",
    );
  }
  if (access.readObjects) {
    f.bindBucket(data.bucket, access.readObjects);
    acknowledgeWildcardResources(
      f.fn.role!,
      access.readObjects.map((pattern) => data.bucket.arnForObjects(pattern)),
      'The storage audit reads the objects that file records name, and dataset-close the checklist objects that closes refer to, anywhere under their prefixes',
    );
  }
  if (access.writeObjects) {
    const written = access.writeObjects.map((pattern) => data.bucket.arnForObjects(pattern));
    f.fn.addEnvironment('DATA_BUCKET', data.bucket.bucketName);
    f.fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: written }));
    acknowledgeWildcardResources(
      f.fn.role!,
      written,
      'The WMS writes the checklist objects of its datasets, one per dataset, under their prefix',
    );
  }
  if (access.archive) {
    // Task exports: written by the archival alone; no pilot or operator grant reaches the prefix.
    const exports = data.bucket.arnForObjects(`${STORAGE_KEY_PREFIXES.archive}/*`);
    const actions =
      access.archive === 'write'
        ? ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload']
        : ['s3:GetObject'];
    f.fn.addToRolePolicy(new iam.PolicyStatement({ actions, resources: [exports] }));
    acknowledgeWildcardResources(
      f.fn.role!,
      [exports],
      "Task exports are one object per task, archive/<taskId>.jsonl, named when the task's archival runs",
    );
  }
  if (access.throughputHistory) {
    // On AWS the history is the functions' EMF metrics; the embedded runtime sets its own.
    f.fn.addEnvironment('THROUGHPUT_HISTORY', tunables?.THROUGHPUT_HISTORY ?? 'cloudwatch');
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
}

export interface WmsAccessProps {
  data: WmsData;
  messaging: WmsMessaging;
  /** The functions granted more than their `FUNCTION_ACCESS` entry. */
  functions: { api: WmsFunction; watchdog: WmsFunction };
  api: WmsApi;
}

const PATH_PARAMETERS =
  'Method ARNs hold * in place of each path parameter ({taskId}, {jobId}, ...); method and route are fixed';

/**
 * The access beyond each function's `FUNCTION_ACCESS` entry: listing the pilot control queues
 * (watchdog), the operator routes' dead-letter queues (api function), and the managed policies
 * of the stack's callers: pilots, the WfMS and operators. Built in the stack's scope (see
 * `WmsData`).
 */
export class WmsAccess {
  readonly pilotPolicy: iam.ManagedPolicy;
  readonly wfmsPolicy: iam.ManagedPolicy;
  readonly operatorPolicy: iam.ManagedPolicy;

  constructor(scope: Construct, props: WmsAccessProps) {
    grantControlQueueListing(props.functions.watchdog);
    grantOperatorDeadLetters(props.functions.api, props.messaging);
    this.pilotPolicy = pilotPolicy(scope, props);
    this.wfmsPolicy = wfmsPolicy(scope, props);
    this.operatorPolicy = operatorPolicy(scope, props);
  }
}

function grantControlQueueListing(watchdog: WmsFunction): void {
  // Orphan control queues are found by listing: SQS authorizes ListQueues only on resource `*`.
  watchdog.fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['sqs:ListQueues'], resources: ['*'] }));
  acknowledgeWildcardResources(
    watchdog.fn.role!,
    ['*'],
    'SQS authorizes ListQueues only on resource *; the watchdog lists the pilot control queues by name prefix',
  );
}

/**
 * The operator routes of the api function: dead letters are inspected and redriven by name,
 * each DLQ with the queue its messages go back to (none for the streams' failure records and
 * for undeliverable pilot commands). Queue names, not URLs: Lambda allows 4 KB of environment.
 */
function grantOperatorDeadLetters(api: WmsFunction, messaging: WmsMessaging): void {
  const operatorDeadLetters: Record<string, { deadLetter: sqs.IQueue; source?: sqs.IQueue }> = {
    ...Object.fromEntries(
      messaging.allQueues.map((q) => [q.name, { deadLetter: q.deadLetterQueue, source: q.queue }]),
    ),
    streams: { deadLetter: messaging.streamFailures.queue },
    'pilot-control': { deadLetter: messaging.pilotControl.deadLetterQueue },
  };
  api.fn.addEnvironment(
    'OPERATOR_DEAD_LETTER_QUEUES',
    Stack.of(api).toJsonString(
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
}

function pilotPolicy(scope: Construct, { data, messaging, api }: WmsAccessProps): iam.ManagedPolicy {
  const { queues, pilotControl } = messaging;
  const policy = new iam.ManagedPolicy(scope, 'PilotPolicy', {
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
        resources: [queues.jobsCpu.queue.queueArn, queues.jobsGpu.queue.queueArn],
      }),
      new iam.PolicyStatement({
        sid: 'ReportStatus',
        actions: ['sqs:SendMessage'],
        resources: [queues.status.queue.queueArn],
      }),
      new iam.PolicyStatement({
        sid: 'ReadOwnControlQueue',
        actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage'],
        resources: [pilotControl.arns],
      }),
      new iam.PolicyStatement({
        sid: 'PilotRoutes',
        actions: ['execute-api:Invoke'],
        resources: api.methodArns.pilot,
      }),
      // Storage (shared/model STORAGE_KEY_PREFIXES): the DSM's inputs and the releases are
      // read-only to pilots; they write only the WMS's datasets, and the status function
      // registers a file only at its job's own place there.
      new iam.PolicyStatement({
        sid: 'ReadInputsOutputsAndReleases',
        actions: ['s3:GetObject'],
        resources: [
          data.bucket.arnForObjects(`${STORAGE_KEY_PREFIXES.inputs}/*`),
          data.bucket.arnForObjects(`${STORAGE_KEY_PREFIXES.wmsDatasets}/*`),
          data.bucket.arnForObjects(`${DEFAULT_RELEASE_PREFIX}/*`),
        ],
      }),
      new iam.PolicyStatement({
        sid: 'WriteOutputsAndLogs',
        actions: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
        resources: [data.bucket.arnForObjects(`${STORAGE_KEY_PREFIXES.wmsDatasets}/*`)],
      }),
    ],
  });
  acknowledgeWildcardsBySid(policy, {
    PilotRoutes: PATH_PARAMETERS,
    ReadOwnControlQueue:
      'Pilot control queues are created at run time, one per pilot, under the deployment name prefix',
    ReadInputsOutputsAndReleases:
      'Inputs, outputs and releases are read by key under their prefixes, which hold objects written at run time',
    WriteOutputsAndLogs:
      'Outputs and logs are written at run time under the prefix of the datasets the WMS writes',
  });
  return policy;
}

function wfmsPolicy(scope: Construct, { messaging, api }: WmsAccessProps): iam.ManagedPolicy {
  const policy = new iam.ManagedPolicy(scope, 'WfmsClientPolicy', {
    description: 'What the workflow management system may do: the task routes and its own events',
    statements: [
      new iam.PolicyStatement({
        sid: 'TaskRoutes',
        actions: ['execute-api:Invoke'],
        resources: api.methodArns.wfms,
      }),
      new iam.PolicyStatement({
        sid: 'PutWorkflowEvents',
        actions: ['events:PutEvents'],
        resources: [messaging.bus.eventBusArn],
        conditions: { StringEquals: { 'events:source': EVENT_SOURCES.wfms } },
      }),
    ],
  });
  acknowledgeWildcardsBySid(policy, { TaskRoutes: PATH_PARAMETERS });
  return policy;
}

function operatorPolicy(scope: Construct, { data, messaging, api }: WmsAccessProps): iam.ManagedPolicy {
  const deadLetterArns = [
    ...messaging.allQueues.map((q) => q.deadLetterQueue.queueArn),
    messaging.pilotControl.deadLetterQueue.queueArn,
  ];
  const redriveSourceArns = messaging.allQueues.map((q) => q.queue.queueArn);
  const policy = new iam.ManagedPolicy(scope, 'OperatorPolicy', {
    description:
      'What an operator may do: every route, operator events, dead-letter inspection and redrive, pilot releases',
    statements: [
      new iam.PolicyStatement({
        sid: 'AllRoutes',
        actions: ['execute-api:Invoke'],
        resources: api.methodArns.operator,
      }),
      new iam.PolicyStatement({
        sid: 'PutOperatorEvents',
        actions: ['events:PutEvents'],
        resources: [messaging.bus.eventBusArn],
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
        resources: [data.bucket.arnForObjects(`${DEFAULT_RELEASE_PREFIX}/*`)],
      }),
    ],
  });
  acknowledgeWildcardsBySid(policy, {
    AllRoutes: PATH_PARAMETERS,
    PublishPilotReleases:
      'Each published release and its signed manifest is a new object under the release prefix',
  });
  return policy;
}
