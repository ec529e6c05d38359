import { Logger } from '@aws-lambda-powertools/logger';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { uniquePrefix } from '../../test/support/tables.js';

/** A bucket of its own for a suite (names must be unique in the shared emulator). */
export async function createTestBucket(s3: S3Client, purpose: string): Promise<string> {
  const bucket = uniquePrefix(purpose);
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

export async function putObject(
  s3: S3Client,
  bucket: string,
  key: string,
  body: Uint8Array | string,
): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}

export async function getObjectBytes(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
  const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await response.Body!.transformToByteArray());
}

/** A logger that keeps test output readable: errors only. */
export function quietLogger(): Logger {
  return new Logger({ serviceName: 'spd-wms-pilot-test', logLevel: 'ERROR' });
}
