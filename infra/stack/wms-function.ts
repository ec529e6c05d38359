import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

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
 * fixed retention, and bind* helpers that add the environment variable and the
 * least-privilege grant in one call.
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
    this.fn = new nodejs.NodejsFunction(this, 'Function', {
      entry,
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      timeout: props.timeout,
      memorySize: props.memorySize ?? 512,
      reservedConcurrentExecutions: props.reservedConcurrency,
      logGroup,
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

  bindTable(envName: string, table: dynamodb.ITable, access: 'read' | 'readWrite'): this {
    this.fn.addEnvironment(envName, table.tableName);
    if (access === 'read') table.grantReadData(this.fn);
    else table.grantReadWriteData(this.fn);
    return this;
  }

  bindQueue(envName: string, queue: sqs.IQueue, access: 'send' | 'consume' | 'sendAndInspect'): this {
    this.fn.addEnvironment(envName, queue.queueUrl);
    if (access === 'consume') queue.grantConsumeMessages(this.fn);
    else queue.grantSendMessages(this.fn);
    if (access === 'sendAndInspect') queue.grant(this.fn, 'sqs:GetQueueAttributes');
    return this;
  }

  bindBus(bus: events.IEventBus): this {
    this.fn.addEnvironment('EVENT_BUS_NAME', bus.eventBusName);
    bus.grantPutEventsTo(this.fn);
    return this;
  }

  bindBucket(bucket: s3.IBucket, access: 'read' | 'readWrite'): this {
    this.fn.addEnvironment('DATA_BUCKET', bucket.bucketName);
    if (access === 'read') bucket.grantRead(this.fn);
    else bucket.grantReadWrite(this.fn);
    return this;
  }
}
