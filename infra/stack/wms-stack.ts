import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type * as apigateway from 'aws-cdk-lib/aws-apigateway';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import type { TableKey } from '../../shared/repositories/index.js';
import { WmsAccess } from './access.js';
import { WmsApi } from './api.js';
import { deliverAccessLogsByBucketPolicy } from './audit-trail.js';
import { WmsData } from './data.js';
import { WmsFunctions } from './functions.js';
import { WmsMessaging, type WmsQueues } from './messaging.js';
import { WmsObservability } from './observability.js';

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

/**
 * The WMS control plane, composed of its parts: data (tables, bucket), messaging (bus, rules,
 * queues), functions (with their event sources), the REST API, access (grants and the callers'
 * policies) and observability (alarms, dashboard). Each part builds its resources in the stack
 * itself, not under a construct of its own, so every resource keeps its construct path and
 * with it its logical id (`logical-ids.test.ts`).
 */
export class WmsStack extends Stack {
  readonly tables: Record<TableKey, dynamodb.Table>;
  readonly queues: WmsQueues;
  readonly functions: WmsFunctions;
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

    const observability = new WmsObservability(this);
    const data = new WmsData(this, { removalPolicy, externalBucketName: props.externalBucketName });
    const messaging = new WmsMessaging(this, { alarmTopic: observability.alarmTopic });
    const functions = new WmsFunctions(this, { data, messaging, tunables: props.tunables });
    const api = new WmsApi(this, { handler: functions.api, removalPolicy });
    const access = new WmsAccess(this, { data, messaging, functions, api });
    observability.watch({ queues: messaging.allQueues, functions: functions.all });

    this.tables = data.tables;
    this.bucket = data.bucket;
    this.bus = messaging.bus;
    this.queues = messaging.queues;
    this.functions = functions;
    this.api = api.restApi;
    this.pilotPolicy = access.pilotPolicy;
    this.wfmsPolicy = access.wfmsPolicy;
    this.operatorPolicy = access.operatorPolicy;

    const output = (id: string, value: string, description: string) =>
      new CfnOutput(this, id, { value, description });
    output('ApiUrl', this.api.url, 'REST API base URL (IAM/SigV4)');
    output('EventBusName', this.bus.eventBusName, 'EventBridge bus for DSM/WfMS events');
    output('DataBucketName', this.bucket.bucketName, 'Bucket for datasets and pilot releases');
    output('JobsCpuQueueUrl', this.queues.jobsCpu.queue.queueUrl, 'CPU job queue');
    output('JobsGpuQueueUrl', this.queues.jobsGpu.queue.queueUrl, 'GPU job queue');
    output('StatusQueueUrl', this.queues.status.queue.queueUrl, 'Pilot status queue');
    output('PilotPolicyArn', this.pilotPolicy.managedPolicyArn, 'Attach to the pilot nodes role or user');
    output('WfmsPolicyArn', this.wfmsPolicy.managedPolicyArn, 'Attach to the WfMS client');
    output('OperatorPolicyArn', this.operatorPolicy.managedPolicyArn, 'Attach to operators');
    output('AlarmTopicArn', observability.alarmTopic.topicArn, 'Subscribe to receive alarms');
  }
}
