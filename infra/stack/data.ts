import type { RemovalPolicy } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import type { TableKey } from '../../shared/repositories/index.js';
import { buildDataBucket } from './audit-trail.js';
import { buildTables } from './tables.js';

export interface WmsDataProps {
  removalPolicy: RemovalPolicy;
  /** An existing S3-compatible bucket to use instead of creating one. */
  externalBucketName?: string;
}

/**
 * The stack's data: every table of shared/repositories/tables.ts and the data bucket (created
 * with its audit trail, or an existing one by name).
 *
 * Like every part of `WmsStack`, it builds its resources in the scope it is given (the stack)
 * rather than being a scope of its own: a construct in between would change the logical id of
 * each resource, and the ids CDK derives from their paths (event source mappings, Lambda
 * permissions), which a deployed stack and the embedded runtime rely on.
 */
export class WmsData {
  readonly tables: Record<TableKey, dynamodb.Table>;
  readonly bucket: s3.IBucket;

  constructor(scope: Construct, props: WmsDataProps) {
    this.tables = buildTables(scope, props.removalPolicy);
    this.bucket = props.externalBucketName
      ? s3.Bucket.fromBucketName(scope, 'Data', props.externalBucketName)
      : buildDataBucket(scope, props.removalPolicy);
  }
}
