import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import type { Construct } from 'constructs';
import { SLOT_FREE_JOB_STATES } from '../../shared/states/index.js';
import { bindFunctionAccess } from './access.js';
import type { WmsData } from './data.js';
import type { FunctionName } from './function-access.js';
import type { WmsMessaging } from './messaging.js';
import { acknowledgeWildcardResources } from './nag.js';
import { WmsFunction } from './wms-function.js';

export interface WmsFunctionsProps {
  data: WmsData;
  messaging: WmsMessaging;
  /** Tunable settings given to every function as environment variables. */
  tunables?: Record<string, string>;
}

/**
 * The control plane's functions, each with the access `FUNCTION_ACCESS` lists for it bound
 * where it is defined, and their event sources: queue consumers, filtered table streams and
 * schedules. Built in the stack's scope (see `WmsData`).
 */
export class WmsFunctions {
  readonly api: WmsFunction;
  readonly fileInput: WmsFunction;
  readonly datasetClose: WmsFunction;
  readonly datasetAdmin: WmsFunction;
  readonly taskCommands: WmsFunction;
  readonly jobGenerator: WmsFunction;
  readonly dispatcher: WmsFunction;
  readonly status: WmsFunction;
  readonly taskLifecycle: WmsFunction;
  readonly rankUpdater: WmsFunction;
  readonly watchdog: WmsFunction;

  constructor(scope: Construct, props: WmsFunctionsProps) {
    const { data, messaging } = props;
    const { queues, streamFailures } = messaging;
    const fn = (name: FunctionName, timeoutSeconds: number, extra: { reservedConcurrency?: number } = {}) => {
      const f = new WmsFunction(scope, `${pascal(name)}Function`, {
        name,
        timeout: Duration.seconds(timeoutSeconds),
        environment: { ...props.tunables },
        ...extra,
      });
      bindFunctionAccess(f, name, props);
      return f;
    };

    this.api = fn('api', 29);
    // Only its URL, for GET /pilot-config (wms config pilot): the api function never uses the queue.
    this.api.fn.addEnvironment('STATUS_QUEUE_URL', queues.status.queue.queueUrl);
    this.api.fn.addEnvironment(
      'PILOT_CONTROL_DEAD_LETTER_ARN',
      messaging.pilotControl.deadLetterQueue.queueArn,
    );

    this.fileInput = fn('file-input', 60);
    queues.inboundFiles.consumeWith(this.fileInput, {
      batchSize: 10,
      maxBatchingWindow: Duration.seconds(1),
    });

    // A close compares every registered name with its checklist: about a minute for a day of SPD's
    // files (1.7 M names) on AWS, so each close gets an invocation of its own with time to spare.
    this.datasetClose = fn('dataset-close', 300);
    queues.datasetClose.consumeWith(this.datasetClose, { batchSize: 1 });

    this.datasetAdmin = fn('dataset-admin', 30);
    queues.datasetAdmin.consumeWith(this.datasetAdmin, { batchSize: 10 });

    this.taskCommands = fn('task-commands', 60);
    queues.taskCommands.consumeWith(this.taskCommands, { batchSize: 10 });

    this.jobGenerator = fn('job-generator', 300);
    queues.jobGeneration.consumeWith(this.jobGenerator, { batchSize: 1 });

    // One dispatcher at a time: the scheduler state is a single item.
    this.dispatcher = fn('dispatcher', 60, { reservedConcurrency: 1 });
    // Job messages name the bucket; the dispatcher reads no object.
    this.dispatcher.bindBucket(data.bucket);
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
      this.dispatcher,
      data.tables.jobs,
      [
        {
          dynamodb: {
            NewImage: {
              state: { S: lambda.FilterRule.or(...SLOT_FREE_JOB_STATES) },
              // An archived task's jobs getting their TTL free no slot.
              expiresAt: lambda.FilterRule.notExists(),
            },
          },
        },
      ],
      dispatchWindow,
    );
    consumeStream(
      this.dispatcher,
      data.tables.pilots,
      [{ eventName: lambda.FilterRule.isEqual('INSERT') }],
      dispatchWindow,
    );
    new events.Rule(scope, 'DispatchSchedule', {
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [new targets.LambdaFunction(this.dispatcher.fn)],
    });

    // The bucket's name only, no grant: a result is accepted only for files in it.
    this.status = fn('status', 60).bindBucket(data.bucket);
    // No batching window: a result is applied as soon as it is received, so its slot counts as
    // free for the next dispatch pass at once. The pilot's outbox already gathers the results of
    // a quarter second into one message batch.
    queues.status.consumeWith(this.status, { batchSize: 10 });

    // A task's end closes its output and log datasets, each a walk of every name it holds: for
    // a task over a day of SPD's files (1.7 M), one to two minutes on AWS.
    this.taskLifecycle = fn('task-lifecycle', 300);
    consumeStream(this.taskLifecycle, data.tables.tasks, []);

    this.rankUpdater = fn('rank-updater', 60);
    consumeStream(this.rankUpdater, data.tables.jobs, [
      // Stream images carry numbers as strings, so `numeric` never matches: "not 0" means a retry.
      { dynamodb: { NewImage: { state: { S: ['READY'] }, attempt: { N: [{ 'anything-but': ['0'] }] } } } },
    ]);

    this.watchdog = fn('watchdog', 300, { reservedConcurrency: 1 });
    new events.Rule(scope, 'WatchdogSchedule', {
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [new targets.LambdaFunction(this.watchdog.fn)],
    });
  }

  /** Every function, in the order the dashboard lists them. */
  get all(): WmsFunction[] {
    return [
      this.api,
      this.fileInput,
      this.datasetClose,
      this.datasetAdmin,
      this.taskCommands,
      this.jobGenerator,
      this.dispatcher,
      this.status,
      this.taskLifecycle,
      this.rankUpdater,
      this.watchdog,
    ];
  }
}

function pascal(name: string): string {
  return name
    .split('-')
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');
}
