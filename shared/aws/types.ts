import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { CallCounter } from './call-counter.js';
import type { SigningCredentials } from './signed-http.js';

/** The AWS clients of one process; `doc` wraps `dynamo` and shares its middleware. */
export interface AwsClients {
  dynamo: DynamoDBClient;
  doc: DynamoDBDocumentClient;
  streams: DynamoDBStreamsClient;
  sqs: SQSClient;
  s3: S3Client;
  eventBridge: EventBridgeClient;
  /** Read by the api function for the dashboard's throughput history. */
  cloudWatch: CloudWatchClient;
}

export interface AwsClientsOptions {
  /** S3 path-style addressing; when absent, `AWS_S3_FORCE_PATH_STYLE` decides. */
  forcePathStyle?: boolean;
  /**
   * Where the clients get their credentials; the SDK's default chain when absent. A pilot
   * passes a provider reading its credentials file, never its environment.
   */
  credentials?: SigningCredentials;
  /** Counts every call the clients make. */
  callCounter?: CallCounter;
  /** Where `AWS_S3_FORCE_PATH_STYLE` is read; process.env by default. */
  env?: Readonly<Record<string, string | undefined>>;
}

/** Calls made to one operation of one service, e.g. DynamoDB TransactWriteItems. */
export interface CallCount {
  service: string;
  operation: string;
  calls: number;
}
