import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { ListStreamsCommand } from '@aws-sdk/client-dynamodb-streams';
import { ListEventBusesCommand } from '@aws-sdk/client-eventbridge';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateQueueCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { uniquePrefix } from '../../test/support/index.js';
import { addCallCounter, awsClients, CallCounter, createAwsClients } from './index.js';

describe('AWS clients against the emulator', () => {
  it('reach it through the standard environment and count every call once, by service and operation', async () => {
    // Prepare
    const counter = new CallCounter();
    const clients = createAwsClients({ callCounter: counter });
    const name = uniquePrefix('clients');

    // Act
    await clients.dynamo.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      }),
    );
    await clients.doc.send(new PutCommand({ TableName: name, Item: { id: 'a', note: undefined } }));
    const read = await clients.doc.send(new GetCommand({ TableName: name, Key: { id: 'a' } }));
    const queue = await clients.sqs.send(new CreateQueueCommand({ QueueName: name }));
    await clients.sqs.send(new SendMessageCommand({ QueueUrl: queue.QueueUrl, MessageBody: 'ping' }));
    await clients.s3.send(new CreateBucketCommand({ Bucket: name }));
    await clients.s3.send(new PutObjectCommand({ Bucket: name, Key: 'k', Body: 'body' }));
    const object = await clients.s3.send(new GetObjectCommand({ Bucket: name, Key: 'k' }));
    await clients.streams.send(new ListStreamsCommand({}));
    await clients.eventBridge.send(new ListEventBusesCommand({}));

    // Assess
    expect(read.Item).toEqual({ id: 'a' });
    expect(await object.Body?.transformToString()).toBe('body');
    expect(counter.snapshot()).toEqual([
      { service: 'DynamoDB', operation: 'CreateTable', calls: 1 },
      { service: 'DynamoDB', operation: 'GetItem', calls: 1 },
      { service: 'DynamoDB', operation: 'PutItem', calls: 1 },
      { service: 'DynamoDBStreams', operation: 'ListStreams', calls: 1 },
      { service: 'EventBridge', operation: 'ListEventBuses', calls: 1 },
      { service: 'S3', operation: 'CreateBucket', calls: 1 },
      { service: 'S3', operation: 'GetObject', calls: 1 },
      { service: 'S3', operation: 'PutObject', calls: 1 },
      { service: 'SQS', operation: 'CreateQueue', calls: 1 },
      { service: 'SQS', operation: 'SendMessage', calls: 1 },
    ]);
    expect(counter.count()).toBe(10);
  });

  it('counts a failed call too, and adding the counter twice does not double it', async () => {
    // Prepare
    const counter = new CallCounter();
    const clients = createAwsClients();
    addCallCounter(clients, counter);
    addCallCounter(clients, counter);

    // Act
    const missing = clients.doc.send(new GetCommand({ TableName: uniquePrefix('absent'), Key: { id: 'a' } }));

    // Assess
    await expect(missing).rejects.toThrow();
    expect(counter.count({ service: 'DynamoDB', operation: 'GetItem' })).toBe(1);
  });

  it('keeps one default set per process', () => {
    expect(awsClients()).toBe(awsClients());
  });
});
