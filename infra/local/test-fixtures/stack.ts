/**
 * A small CDK stack exercising every kind of wiring the embedded runtime supports: a table
 * with a filtered stream, two queues with DLQs (one fed by a bus rule), a schedule, a bucket
 * and an IAM-authorized REST API, each driving a fixture handler of this folder.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq, SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';

export const FIXTURE_STACK_NAME = 'LocalRuntimeFixture';
export const SAMPLE_SOURCE = 'spd.test';
export const SAMPLE_DETAIL_TYPE = 'sample.created';
export const API_STAGE = 'test';

const FIXTURES = 'infra/local/test-fixtures';

function fixtureFunction(
  stack: Stack,
  id: string,
  name: string,
  environment: Record<string, string>,
  options: { timeout?: Duration; reservedConcurrentExecutions?: number } = {},
): lambda.Function {
  const fn = new lambda.Function(stack, id, {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    // The runtime imports the TypeScript entry named by the metadata; the inline code is never run.
    code: lambda.Code.fromInline('exports.handler = async () => undefined;'),
    timeout: options.timeout ?? Duration.seconds(5),
    reservedConcurrentExecutions: options.reservedConcurrentExecutions,
    environment: { FIXTURE_ROLE: name, ...environment },
  });
  (fn.node.defaultChild as lambda.CfnFunction).addMetadata('spd:function', {
    name,
    entry: `${FIXTURES}/${name}.ts`,
  });
  return fn;
}

/** Synthesizes the fixture stack and returns its template. */
export function synthesizeFixtureStack(): Record<string, unknown> {
  const app = new App();
  const stack = new Stack(app, FIXTURE_STACK_NAME);

  const observations = new dynamodb.Table(stack, 'Observations', {
    partitionKey: { name: 'source', type: dynamodb.AttributeType.STRING },
    sortKey: { name: 'key', type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
  });
  const records = new dynamodb.Table(stack, 'Records', {
    partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
  });
  records.addGlobalSecondaryIndex({
    indexName: 'byKind',
    partitionKey: { name: 'kind', type: dynamodb.AttributeType.STRING },
  });

  const workDlq = new sqs.Queue(stack, 'WorkDlq');
  const workQueue = new sqs.Queue(stack, 'WorkQueue', {
    visibilityTimeout: Duration.seconds(3),
    deadLetterQueue: { queue: workDlq, maxReceiveCount: 2 },
  });
  const eventsDlq = new sqs.Queue(stack, 'EventsDlq');
  const eventsQueue = new sqs.Queue(stack, 'EventsQueue', {
    visibilityTimeout: Duration.seconds(2),
    deadLetterQueue: { queue: eventsDlq, maxReceiveCount: 3 },
  });
  const streamFailures = new sqs.Queue(stack, 'StreamFailures');
  const bus = new events.EventBus(stack, 'Bus');
  const bucket = new s3.Bucket(stack, 'Data', { versioned: true });

  const shared = { OBSERVATIONS_TABLE: observations.tableName };
  const queueConsumer = fixtureFunction(stack, 'QueueConsumer', 'queue-consumer', shared, {
    timeout: Duration.seconds(2),
    reservedConcurrentExecutions: 2,
  });
  const streamConsumer = fixtureFunction(stack, 'StreamConsumer', 'stream-consumer', shared);
  const scheduled = fixtureFunction(stack, 'Scheduled', 'scheduled', shared);
  const api = fixtureFunction(stack, 'ApiHandler', 'api', {
    ...shared,
    WORK_QUEUE_URL: workQueue.queueUrl,
    BUS_ARN: bus.eventBusArn,
    RECORDS_INDEX_ARN: `${records.tableArn}/index/byKind`,
    DATA_BUCKET: bucket.bucketName,
  });
  for (const fn of [queueConsumer, streamConsumer, scheduled, api]) observations.grantWriteData(fn);

  queueConsumer.addEventSource(
    new SqsEventSource(workQueue, {
      batchSize: 10,
      maxBatchingWindow: Duration.seconds(1),
      reportBatchItemFailures: true,
    }),
  );
  queueConsumer.addEventSource(new SqsEventSource(eventsQueue, { batchSize: 5, maxConcurrency: 2 }));
  // Disabled: the runtime must not poll it, or it would consume the stream failure records.
  queueConsumer.addEventSource(new SqsEventSource(streamFailures, { enabled: false }));
  streamConsumer.addEventSource(
    new DynamoEventSource(records, {
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize: 10,
      retryAttempts: 1,
      bisectBatchOnError: true,
      reportBatchItemFailures: true,
      onFailure: new SqsDlq(streamFailures),
      filters: [
        lambda.FilterCriteria.filter({
          eventName: lambda.FilterRule.isEqual('INSERT'),
          dynamodb: { NewImage: { kind: { S: lambda.FilterRule.beginsWith('keep') } } },
        }),
      ],
    }),
  );

  new events.Rule(stack, 'SampleCreated', {
    eventBus: bus,
    eventPattern: { source: [SAMPLE_SOURCE], detailType: [SAMPLE_DETAIL_TYPE] },
    targets: [new targets.SqsQueue(eventsQueue)],
  });
  new events.Rule(stack, 'EveryMinute', {
    schedule: events.Schedule.rate(Duration.minutes(1)),
    targets: [new targets.LambdaFunction(scheduled)],
  });

  const restApi = new apigateway.RestApi(stack, 'Api', {
    cloudWatchRole: false,
    deployOptions: { stageName: API_STAGE },
    defaultMethodOptions: { authorizationType: apigateway.AuthorizationType.IAM },
  });
  const integration = new apigateway.LambdaIntegration(api);
  const items = restApi.root.addResource('items');
  items.addMethod('POST', integration);
  items.addResource('{itemId}').addMethod('GET', integration);

  return app.synth().getStackByName(FIXTURE_STACK_NAME).template as Record<string, unknown>;
}
