/**
 * Which AWS service and operation an HTTP request to the emulator is, read from what every
 * SDK request carries: the SigV4 credential scope names the service; JSON protocols (DynamoDB,
 * Streams, SQS, EventBridge) name the operation in `X-Amz-Target`; S3's REST operations are
 * told apart by method, path and query.
 */

/** Signing names → the service names shared/aws's CallCounter uses. */
const SERVICE_NAMES: Record<string, string> = {
  dynamodb: 'DynamoDB',
  sqs: 'SQS',
  s3: 'S3',
  events: 'EventBridge',
};
/**
 * `X-Amz-Target` prefixes → service names. DynamoDB Streams signs as `dynamodb`, so only its
 * target tells it from DynamoDB.
 */
const TARGET_SERVICES: Record<string, string> = {
  DynamoDB_20120810: 'DynamoDB',
  DynamoDBStreams_20120810: 'DynamoDBStreams',
  AmazonSQS: 'SQS',
  AWSEvents: 'EventBridge',
};

export interface AwsOperation {
  service: string;
  operation: string;
}

export interface RequestHead {
  method: string;
  /** Path and query, as in the request line. */
  url: string;
  headers: Readonly<Record<string, string | string[] | undefined>>;
}

function header(head: RequestHead, name: string): string | undefined {
  const value = head.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The signing name in `Credential=<key>/<date>/<region>/<service>/aws4_request`. */
function signingName(authorization: string | undefined): string | undefined {
  return authorization?.match(/Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/)?.[1];
}

function s3Operation(method: string, url: URL): string {
  const query = url.searchParams;
  const segments = url.pathname.split('/').filter((segment) => segment !== '');
  const onObject = segments.length > 1;
  if (method === 'GET') {
    if (!onObject) return query.has('list-type') ? 'ListObjectsV2' : 'ListObjects';
    return query.has('uploadId') ? 'ListParts' : 'GetObject';
  }
  if (method === 'HEAD') return onObject ? 'HeadObject' : 'HeadBucket';
  if (method === 'PUT') {
    if (!onObject) return 'CreateBucket';
    return query.has('partNumber') ? 'UploadPart' : 'PutObject';
  }
  if (method === 'POST') {
    if (query.has('uploads')) return 'CreateMultipartUpload';
    if (query.has('uploadId')) return 'CompleteMultipartUpload';
    if (query.has('delete')) return 'DeleteObjects';
    return 'PostObject';
  }
  if (method === 'DELETE') {
    if (query.has('uploadId')) return 'AbortMultipartUpload';
    return onObject ? 'DeleteObject' : 'DeleteBucket';
  }
  return method;
}

/** The service and operation of one request; `unknown` for what no SDK client sends (moto's own API). */
export function awsOperationOf(head: RequestHead): AwsOperation {
  const signing = signingName(header(head, 'authorization'));
  const service = signing === undefined ? 'unknown' : (SERVICE_NAMES[signing] ?? signing);
  const target = header(head, 'x-amz-target');
  if (target !== undefined) {
    const dot = target.lastIndexOf('.');
    return { service: TARGET_SERVICES[target.slice(0, dot)] ?? service, operation: target.slice(dot + 1) };
  }
  if (service === 'S3')
    return { service, operation: s3Operation(head.method, new URL(head.url, 'http://s3')) };
  return { service, operation: head.method };
}
