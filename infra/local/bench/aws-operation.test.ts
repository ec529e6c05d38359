import { describe, expect, it } from 'vitest';
import { awsOperationOf } from './aws-operation.js';

const signed = (service: string) =>
  `AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/${service}/aws4_request, SignedHeaders=host, Signature=00`;

describe('awsOperationOf', () => {
  it('names JSON-protocol calls by their target, DynamoDB Streams apart from DynamoDB', () => {
    const call = (service: string, target: string) =>
      awsOperationOf({
        method: 'POST',
        url: '/',
        headers: { authorization: signed(service), 'x-amz-target': target },
      });
    expect(call('dynamodb', 'DynamoDB_20120810.TransactWriteItems')).toEqual({
      service: 'DynamoDB',
      operation: 'TransactWriteItems',
    });
    expect(call('dynamodb', 'DynamoDBStreams_20120810.GetRecords')).toEqual({
      service: 'DynamoDBStreams',
      operation: 'GetRecords',
    });
    expect(call('sqs', 'AmazonSQS.ReceiveMessage')).toEqual({ service: 'SQS', operation: 'ReceiveMessage' });
    expect(call('events', 'AWSEvents.PutEvents')).toEqual({ service: 'EventBridge', operation: 'PutEvents' });
  });

  it("names S3's REST calls by method, path and query", () => {
    const s3 = (method: string, url: string) =>
      awsOperationOf({ method, url, headers: { authorization: signed('s3') } }).operation;
    expect(s3('GET', '/bucket/datasets/a/f.dat')).toBe('GetObject');
    expect(s3('PUT', '/bucket/datasets/a/f.dat')).toBe('PutObject');
    expect(s3('PUT', '/bucket/k?partNumber=2&uploadId=u')).toBe('UploadPart');
    expect(s3('POST', '/bucket/k?uploads')).toBe('CreateMultipartUpload');
    expect(s3('POST', '/bucket/k?uploadId=u')).toBe('CompleteMultipartUpload');
    expect(s3('HEAD', '/bucket/k')).toBe('HeadObject');
    expect(s3('GET', '/bucket?list-type=2&prefix=datasets')).toBe('ListObjectsV2');
    expect(s3('PUT', '/bucket')).toBe('CreateBucket');
  });

  it('leaves unsigned requests (the emulator’s own API) unknown', () => {
    expect(awsOperationOf({ method: 'GET', url: '/moto-api/', headers: {} })).toEqual({
      service: 'unknown',
      operation: 'GET',
    });
  });
});
