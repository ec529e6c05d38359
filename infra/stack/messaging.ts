import { Aws, Duration, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { DETAIL_TYPES, EVENT_SOURCES } from '../../events/index.js';
import { acknowledge } from './nag.js';
import { DeadLetterQueue, WmsQueue } from './wms-queue.js';

const PILOT_CONTROL_SUFFIX = 'pilot-';

/** The stack's queues, each with its DLQ and the DLQ's alarm. */
export interface WmsQueues {
  readonly inboundFiles: WmsQueue;
  readonly datasetClose: WmsQueue;
  readonly datasetAdmin: WmsQueue;
  readonly taskCommands: WmsQueue;
  readonly jobGeneration: WmsQueue;
  readonly status: WmsQueue;
  readonly jobsCpu: WmsQueue;
  readonly jobsGpu: WmsQueue;
}

/** The pilot control queues, made at run time, one per pilot: their names and their DLQ. */
export interface PilotControlQueues {
  /** Every control queue's name starts with it. */
  readonly prefix: string;
  /** The ARN pattern that matches every control queue. */
  readonly arns: string;
  readonly deadLetterQueue: DeadLetterQueue;
}

export interface WmsMessagingProps {
  alarmTopic: sns.ITopic;
}

/**
 * The stack's messaging: the event bus and its rules (each inbound detail type to its queue),
 * the queues, the queue the stream sources send their failure records to, and the pilot control
 * queues' name prefix and DLQ. Built in the stack's scope (see `WmsData`).
 */
export class WmsMessaging {
  readonly bus: events.EventBus;
  readonly queues: WmsQueues;
  /** Where the stream event sources send the records they gave up on. */
  readonly streamFailures: WmsQueue;
  readonly pilotControl: PilotControlQueues;

  constructor(scope: Construct, props: WmsMessagingProps) {
    const { alarmTopic } = props;
    this.bus = new events.EventBus(scope, 'Bus', { eventBusName: `${Stack.of(scope).stackName}-bus` });

    const queue = (id: string, name: string, visibilitySeconds: number, maxReceiveCount: number) =>
      new WmsQueue(scope, id, {
        name,
        visibilityTimeout: Duration.seconds(visibilitySeconds),
        maxReceiveCount,
        alarmTopic,
      });
    this.queues = {
      inboundFiles: queue('InboundFiles', 'inbound-files', 180, 5),
      datasetClose: queue('DatasetClose', 'dataset-close', 360, 20),
      datasetAdmin: queue('DatasetAdmin', 'dataset-admin', 180, 5),
      taskCommands: queue('TaskCommands', 'task-commands', 180, 10),
      jobGeneration: queue('JobGeneration', 'job-generation', 360, 5),
      status: queue('Status', 'status', 180, 5),
      // Pilots delete a job message right after the claim; the visibility only covers the claim.
      jobsCpu: queue('JobsCpu', 'jobs-cpu', 120, 10),
      jobsGpu: queue('JobsGpu', 'jobs-gpu', 120, 10),
    };
    this.streamFailures = queue('StreamFailures', 'stream-failures', 60, 5);

    const pilotControlDeadLetter = new DeadLetterQueue(scope, 'PilotControlDeadLetter', {
      alarmDescription: 'Undeliverable pilot control commands',
      alarmTopic,
    });
    acknowledge(
      pilotControlDeadLetter,
      'AwsSolutions-SQS3',
      'It is the dead-letter queue of the pilot control queues, which name it in the redrive policy they are created with at run time',
    );
    // Named after the bus, so deployments (and embedded runtimes) sharing an account never mix pilots.
    const pilotControlPrefix = `${this.bus.eventBusName}-${PILOT_CONTROL_SUFFIX}`;
    this.pilotControl = {
      prefix: pilotControlPrefix,
      arns: `arn:${Aws.PARTITION}:sqs:${Aws.REGION}:${Aws.ACCOUNT_ID}:${pilotControlPrefix}*`,
      deadLetterQueue: pilotControlDeadLetter,
    };

    // Inbound and outbound events: each detail type to its queue. The WMS's own dataset.close
    // for output datasets goes the same way, which is what chains workflow stages.
    const route = (id: string, detailTypes: string[], sourcesAllowed: string[], target: WmsQueue) =>
      new events.Rule(scope, id, {
        eventBus: this.bus,
        eventPattern: { detailType: detailTypes, source: sourcesAllowed },
        targets: [new targets.SqsQueue(target.queue)],
      });
    route('FileInputRule', [DETAIL_TYPES.fileInput], [EVENT_SOURCES.dsm], this.queues.inboundFiles);
    route(
      'DatasetCloseRule',
      [DETAIL_TYPES.datasetClose],
      [EVENT_SOURCES.dsm, EVENT_SOURCES.wms],
      this.queues.datasetClose,
    );
    route(
      'DatasetAdminRule',
      [DETAIL_TYPES.datasetUpload, DETAIL_TYPES.datasetDelete],
      [EVENT_SOURCES.dsm],
      this.queues.datasetAdmin,
    );
    route(
      'TaskCommandsRule',
      [DETAIL_TYPES.taskSubmitted, DETAIL_TYPES.taskCancel, DETAIL_TYPES.taskPriority],
      [EVENT_SOURCES.wfms, EVENT_SOURCES.operator, EVENT_SOURCES.wms],
      this.queues.taskCommands,
    );
  }

  /** The stack's queues and the stream failures queue, in the order the dashboard lists them. */
  get allQueues(): WmsQueue[] {
    return [...Object.values(this.queues), this.streamFailures];
  }
}
