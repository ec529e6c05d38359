import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors/index.js';
import { CallCounter, createAwsClients } from './index.js';

describe('CallCounter', () => {
  it('counts calls by service and operation and filters them', () => {
    // Prepare
    const counter = new CallCounter();

    // Act
    counter.record('DynamoDB', 'TransactWriteItems');
    counter.record('DynamoDB', 'TransactWriteItems');
    counter.record('DynamoDB', 'Query');
    counter.record('SQS', 'SendMessageBatch');

    // Assess
    expect(counter.count()).toBe(4);
    expect(counter.count({ service: 'DynamoDB' })).toBe(3);
    expect(counter.count({ operation: 'TransactWriteItems' })).toBe(2);
    expect(counter.count({ service: 'SQS', operation: 'Query' })).toBe(0);
    expect(counter.snapshot()).toEqual([
      { service: 'DynamoDB', operation: 'Query', calls: 1 },
      { service: 'DynamoDB', operation: 'TransactWriteItems', calls: 2 },
      { service: 'SQS', operation: 'SendMessageBatch', calls: 1 },
    ]);
  });

  it('adds counts made elsewhere to its own', () => {
    const counter = new CallCounter();
    counter.record('SQS', 'SendMessage');

    counter.add([
      { service: 'SQS', operation: 'SendMessage', calls: 2 },
      { service: 'S3', operation: 'PutObject', calls: 4 },
    ]);

    expect(counter.snapshot()).toEqual([
      { service: 'S3', operation: 'PutObject', calls: 4 },
      { service: 'SQS', operation: 'SendMessage', calls: 3 },
    ]);
  });

  it('hands out copies and starts over on reset', () => {
    const counter = new CallCounter();
    counter.record('S3', 'PutObject');
    const [entry] = counter.snapshot();
    if (entry) entry.calls = 100;

    expect(counter.count()).toBe(1);
    counter.reset();
    expect(counter.count()).toBe(0);
    expect(counter.snapshot()).toEqual([]);
  });
});

describe('createAwsClients', () => {
  it('takes S3 path-style addressing from the option, else from AWS_S3_FORCE_PATH_STYLE', async () => {
    const fromEnv = createAwsClients({ env: { AWS_S3_FORCE_PATH_STYLE: 'true' } });
    const byDefault = createAwsClients({ env: {} });
    const byOption = createAwsClients({ env: { AWS_S3_FORCE_PATH_STYLE: 'true' }, forcePathStyle: false });

    expect(fromEnv.s3.config.forcePathStyle).toBe(true);
    expect(byDefault.s3.config.forcePathStyle).toBe(false);
    expect(byOption.s3.config.forcePathStyle).toBe(false);
  });

  it('refuses a malformed AWS_S3_FORCE_PATH_STYLE', () => {
    expect(() => createAwsClients({ env: { AWS_S3_FORCE_PATH_STYLE: 'yes' } })).toThrow(ConfigError);
  });

  it('builds the document client on the DynamoDB client, dropping undefined values', () => {
    const clients = createAwsClients({ env: {} });

    expect(clients.doc.config).toBe(clients.dynamo.config);
    expect(clients.doc.config.translateConfig?.marshallOptions?.removeUndefinedValues).toBe(true);
  });

  it('leaves out the SDK logger middleware, which would filter every call for a log line nobody gets', () => {
    const clients = createAwsClients({ env: {} });

    for (const client of [
      clients.dynamo,
      clients.doc,
      clients.streams,
      clients.sqs,
      clients.s3,
      clients.eventBridge,
    ]) {
      const steps = client.middlewareStack.identify();
      expect(steps).toContain('serializerMiddleware - serialize');
      expect(steps.filter((step) => step.startsWith('loggerMiddleware'))).toEqual([]);
    }
  });
});
