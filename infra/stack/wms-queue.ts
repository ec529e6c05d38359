import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { WmsFunction } from './wms-function.js';

export interface DeadLetterQueueProps {
  /** What a message in this queue means, for the alarm. */
  alarmDescription: string;
  alarmTopic: sns.ITopic;
}

/**
 * A dead-letter queue with the alarm that fires on its first visible message. The alarm is
 * the queue's sibling, `<id>Alarm` in the same scope, not its child: the logical ids of both
 * stay those a deployed stack and the embedded runtime know.
 */
export class DeadLetterQueue extends sqs.Queue {
  readonly alarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: DeadLetterQueueProps) {
    super(scope, id, { retentionPeriod: Duration.days(14), enforceSSL: true });
    this.alarm = new cloudwatch.Alarm(scope, `${id}Alarm`, {
      alarmDescription: props.alarmDescription,
      metric: this.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.alarm.addAlarmAction(new actions.SnsAction(props.alarmTopic));
  }
}

export interface WmsQueueProps {
  /** Readable queue name suffix, e.g. `status`; the DLQ is `<name>-dlq`. */
  name: string;
  visibilityTimeout: Duration;
  /** Deliveries before SQS moves a message to the DLQ. */
  maxReceiveCount: number;
  alarmTopic: sns.ITopic;
  retentionPeriod?: Duration;
}

/**
 * A queue with its DLQ and the DLQ's alarm (a `DeadLetterQueue`), and (via `consumeWith`) its
 * Lambda consumer with partial batch failure reporting. The consumer gets the DLQ URL so it can
 * dead-letter a message it can never process with the reason attached.
 */
export class WmsQueue extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: DeadLetterQueue;
  readonly name: string;
  readonly maxReceiveCount: number;

  constructor(scope: Construct, id: string, props: WmsQueueProps) {
    super(scope, id);
    this.name = props.name;
    this.maxReceiveCount = props.maxReceiveCount;
    const retention = props.retentionPeriod ?? Duration.days(4);
    this.deadLetterQueue = new DeadLetterQueue(this, 'DeadLetter', {
      alarmDescription: `Messages in the ${props.name} dead-letter queue`,
      alarmTopic: props.alarmTopic,
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      visibilityTimeout: props.visibilityTimeout,
      retentionPeriod: retention,
      receiveMessageWaitTime: Duration.seconds(20),
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
    });
  }

  consumeWith(consumer: WmsFunction, options: { batchSize: number; maxBatchingWindow?: Duration }): void {
    consumer.fn.addEventSource(
      new sources.SqsEventSource(this.queue, {
        batchSize: options.batchSize,
        maxBatchingWindow: options.maxBatchingWindow,
        reportBatchItemFailures: true,
      }),
    );
    consumer.bindQueue('DEAD_LETTER_QUEUE_URL', this.deadLetterQueue, ['send']);
    // Deferral changes the message's visibility; the mapping itself only needs consume rights.
    this.queue.grant(consumer.fn, 'sqs:ChangeMessageVisibility');
    consumer.fn.addEnvironment('SOURCE_QUEUE_URL', this.queue.queueUrl);
    consumer.fn.addEnvironment('SOURCE_MAX_RECEIVE_COUNT', String(this.maxReceiveCount));
  }
}
