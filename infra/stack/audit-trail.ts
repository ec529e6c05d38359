/**
 * The stack's audit trail: the data bucket with versioning and server access logs (into a
 * bucket of their own), and the API stage's access log (caller, route, status, latency) and
 * error-level execution log. Retention is fixed here; docs/operations.md describes both.
 */
import { CfnOutput, Duration, type RemovalPolicy, type Stack } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { STORAGE_KEY_PREFIXES } from '../../shared/model/index.js';
import { acknowledge } from './nag.js';

export const ACCESS_LOG_RETENTION = logs.RetentionDays.ONE_YEAR;
export const BUCKET_ACCESS_LOG_EXPIRY = Duration.days(365);
/** Overwritten or deleted objects stay recoverable this long. */
export const NONCURRENT_VERSION_EXPIRY = Duration.days(90);
export const DATA_ACCESS_LOG_PREFIX = 'data-bucket/';

/**
 * Server access logs are delivered under a bucket policy for the S3 logging service, not the
 * LogDeliveryWrite ACL (ACLs stay disabled). Must be set on the stack before its buckets exist.
 */
export function deliverAccessLogsByBucketPolicy(stack: Stack): void {
  stack.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
}

export function buildDataBucket(scope: Construct, removalPolicy: RemovalPolicy): s3.Bucket {
  const accessLogs = new s3.Bucket(scope, 'AccessLogs', {
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    lifecycleRules: [{ expiration: BUCKET_ACCESS_LOG_EXPIRY }],
    removalPolicy,
  });
  new CfnOutput(scope, 'AccessLogBucketName', {
    value: accessLogs.bucketName,
    description: `Server access logs of the data bucket, under ${DATA_ACCESS_LOG_PREFIX}`,
  });
  acknowledge(
    accessLogs,
    'AwsSolutions-S1',
    'This bucket receives the data bucket access logs; logging its own access would log its deliveries',
  );
  return new s3.Bucket(scope, 'Data', {
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    versioned: true,
    lifecycleRules: [
      { noncurrentVersionExpiration: NONCURRENT_VERSION_EXPIRY },
      // A task export whose archival run was killed mid-upload (the next run writes it again).
      { prefix: `${STORAGE_KEY_PREFIXES.archive}/`, abortIncompleteMultipartUploadAfter: Duration.days(1) },
    ],
    serverAccessLogsBucket: accessLogs,
    serverAccessLogsPrefix: DATA_ACCESS_LOG_PREFIX,
    removalPolicy,
  });
}

/** One JSON line per request: who called which route, with what status and how fast. */
export function apiAccessLogFormat(): apigateway.AccessLogFormat {
  const field = apigateway.AccessLogField;
  return apigateway.AccessLogFormat.custom(
    JSON.stringify({
      requestId: field.contextRequestId(),
      requestTime: field.contextRequestTimeEpoch(),
      caller: field.contextIdentityUserArn(),
      callerAccount: field.contextIdentityAccountId(),
      accessKey: '$context.identity.accessKey',
      sourceIp: field.contextIdentitySourceIp(),
      userAgent: field.contextIdentityUserAgent(),
      method: field.contextHttpMethod(),
      route: field.contextResourcePath(),
      path: field.contextPath(),
      status: field.contextStatus(),
      latencyMs: field.contextResponseLatency(),
      integrationLatencyMs: field.contextIntegrationLatency(),
      responseLength: field.contextResponseLength(),
      error: field.contextErrorMessage(),
    }),
  );
}

/** The stage options that turn on the API's access log and error-level execution log. */
export function apiLoggingOptions(
  scope: Construct,
  removalPolicy: RemovalPolicy,
): Pick<
  apigateway.StageOptions,
  'accessLogDestination' | 'accessLogFormat' | 'loggingLevel' | 'dataTraceEnabled'
> {
  const accessLogs = new logs.LogGroup(scope, 'ApiAccessLogs', {
    retention: ACCESS_LOG_RETENTION,
    removalPolicy,
  });
  new CfnOutput(scope, 'ApiAccessLogGroupName', {
    value: accessLogs.logGroupName,
    description: 'API access log: one JSON line per request (docs/operations.md)',
  });
  return {
    accessLogDestination: new apigateway.LogGroupLogDestination(accessLogs),
    accessLogFormat: apiAccessLogFormat(),
    loggingLevel: apigateway.MethodLoggingLevel.ERROR,
    // Request and response bodies stay out of the logs.
    dataTraceEnabled: false,
  };
}

/**
 * The log group API Gateway writes the stage's execution log to, created first so it has a
 * retention (API Gateway would create it without one).
 */
export function apiExecutionLogs(
  scope: Construct,
  api: apigateway.RestApi,
  stageName: string,
  removalPolicy: RemovalPolicy,
): void {
  const executionLogs = new logs.LogGroup(scope, 'ApiExecutionLogs', {
    logGroupName: `API-Gateway-Execution-Logs_${api.restApiId}/${stageName}`,
    retention: ACCESS_LOG_RETENTION,
    removalPolicy,
  });
  api.deploymentStage.node.addDependency(executionLogs);
}
