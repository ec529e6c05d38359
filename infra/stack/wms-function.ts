import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { TABLE_SPECS, type TableKey } from '../../shared/repositories/index.js';
import type { QueueAccess, TableAccess } from './function-access.js';
import { TABLE_ENV } from './tables.js';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Template metadata key naming a function's handler module; the embedded runtime reads it. */
export const FUNCTION_METADATA_KEY = 'spd:function';

export interface WmsFunctionProps {
  /** Folder name under functions/. */
  name: string;
  timeout: Duration;
  memorySize?: number;
  reservedConcurrency?: number;
  environment?: Record<string, string>;
}

/**
 * A WMS Lambda: Node 24 on arm64, ESM bundle built by the local esbuild, one log group with
 * fixed retention, a role that may write only to that log group, and bind* helpers that add
 * the environment variable and the least-privilege grant in one call.
 */
export class WmsFunction extends Construct {
  readonly fn: nodejs.NodejsFunction;
  readonly name: string;

  constructor(scope: Construct, id: string, props: WmsFunctionProps) {
    super(scope, id);
    this.name = props.name;
    const entry = path.join(PROJECT_ROOT, 'functions', props.name, 'index.ts');
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Not AWSLambdaBasicExecutionRole, which may create and write any log group.
    const role = new iam.Role(this, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    logGroup.grantWrite(role);
    this.fn = new nodejs.NodejsFunction(this, 'Function', {
      entry,
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      timeout: props.timeout,
      memorySize: props.memorySize ?? 512,
      reservedConcurrentExecutions: props.reservedConcurrency,
      logGroup,
      role,
      loggingFormat: lambda.LoggingFormat.JSON,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      environment: {
        POWERTOOLS_SERVICE_NAME: `wms-${props.name}`,
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      bundling: {
        format: nodejs.OutputFormat.ESM,
        target: 'node24',
        minify: true,
        sourceMap: true,
        // ESM bundles of CommonJS dependencies still call require().
        banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
        forceDockerBundling: false,
      },
    });
    (this.fn.node.defaultChild as lambda.CfnFunction).addMetadata(FUNCTION_METADATA_KEY, {
      name: props.name,
      entry: `functions/${props.name}/index.ts`,
    });
  }

  /**
   * Every table's name (the repositories are built over all of them) and, per table in
   * `access`, its item actions on the table and Query on the named indexes.
   */
  bindTables(
    tables: Record<TableKey, dynamodb.ITable>,
    access: Partial<Record<TableKey, TableAccess>>,
  ): this {
    for (const key of Object.keys(TABLE_SPECS) as TableKey[]) {
      const table = tables[key];
      this.fn.addEnvironment(TABLE_ENV[key], table.tableName);
      const granted = access[key];
      if (!granted) continue;
      if (granted.actions.length > 0) {
        this.fn.addToRolePolicy(
          new iam.PolicyStatement({
            actions: granted.actions.map((action) => `dynamodb:${action}`),
            resources: [table.tableArn],
          }),
        );
      }
      const known = TABLE_SPECS[key].globalIndexes.map((index) => index.indexName as string);
      for (const index of granted.indexes ?? []) {
        if (!known.includes(index)) throw new Error(`${this.name}: table ${key} has no index ${index}`);
      }
      if (granted.indexes && granted.indexes.length > 0) {
        this.fn.addToRolePolicy(
          new iam.PolicyStatement({
            actions: ['dynamodb:Query'],
            resources: granted.indexes.map((index) => `${table.tableArn}/index/${index}`),
          }),
        );
      }
    }
    return this;
  }

  bindQueue(envName: string, queue: sqs.IQueue, access: readonly QueueAccess[]): this {
    this.fn.addEnvironment(envName, queue.queueUrl);
    const actions = access.map((each) => (each === 'send' ? 'sqs:SendMessage' : 'sqs:GetQueueAttributes'));
    if (actions.length > 0) queue.grant(this.fn, ...actions);
    return this;
  }

  bindBus(bus: events.IEventBus): this {
    this.fn.addEnvironment('EVENT_BUS_NAME', bus.eventBusName);
    bus.grantPutEventsTo(this.fn);
    return this;
  }

  /**
   * The bucket's name and read access to the objects under `readObjects`, plus ListBucket,
   * without which S3 answers a missing object with 403 instead of 404.
   */
  bindBucket(bucket: s3.IBucket, readObjects: readonly string[] = []): this {
    this.fn.addEnvironment('DATA_BUCKET', bucket.bucketName);
    if (readObjects.length === 0) return this;
    this.fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: readObjects.map((pattern) => bucket.arnForObjects(pattern)),
      }),
    );
    this.fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucket.bucketArn] }),
    );
    return this;
  }
}
