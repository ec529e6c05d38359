/**
 * Publishes a pilot release: bundles `pilot/agent/main.ts` into one ES module with esbuild,
 * uploads it to `s3://<bucket>/<prefix>/<version>.mjs`, then points `<prefix>/manifest.json`
 * at it (the manifest last, so it never names a release that is not there yet).
 *
 *   npx tsx pilot/release/publish.ts --bucket <bucket> [--prefix pilot/releases] [--version <v>]
 *
 * The S3 endpoint, region and credentials are the standard AWS ones (AWS_ENDPOINT_URL, ...).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { z } from 'zod';
import { createAwsClients } from '../../shared/aws/index.js';
import { ValidationError } from '../../shared/errors/index.js';
import { BucketName, ObjectKey } from '../../shared/model/index.js';
import {
  DEFAULT_RELEASE_PREFIX,
  manifestKey,
  type ReleaseManifest,
  ReleaseVersion,
  releaseKey,
} from '../daemon/release.js';
import { bundleEntry } from './bundle.js';

const PILOT_ENTRY = fileURLToPath(new URL('../agent/main.ts', import.meta.url));
const PACKAGE_JSON = fileURLToPath(new URL('../../package.json', import.meta.url));

/** The pilot as one ES module, its version compiled in. */
function bundlePilot(version: string): Promise<Uint8Array> {
  return bundleEntry(PILOT_ENTRY, { __PILOT_VERSION__: JSON.stringify(version) });
}

/** `<package version>-<UTC time>`, e.g. `0.1.0-20260102T030405Z`. */
async function defaultVersion(now: Date): Promise<string> {
  const { version } = JSON.parse(await readFile(PACKAGE_JSON, 'utf8')) as { version: string };
  return `${version}-${now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}`;
}

/** Uploads a bundle and then the manifest naming it. */
async function publishRelease(
  s3: S3Client,
  target: { bucket: string; prefix: string; version: string },
  bundle: Uint8Array,
  now: Date,
): Promise<ReleaseManifest> {
  const key = releaseKey(target.prefix, target.version);
  const manifest: ReleaseManifest = {
    version: target.version,
    key,
    sha256: createHash('sha256').update(bundle).digest('hex'),
    publishedAt: now.toISOString(),
  };
  await s3.send(
    new PutObjectCommand({
      Bucket: target.bucket,
      Key: key,
      Body: bundle,
      ContentType: 'text/javascript',
      ChecksumAlgorithm: 'SHA256',
    }),
  );
  await s3.send(
    new PutObjectCommand({
      Bucket: target.bucket,
      Key: manifestKey(target.prefix),
      Body: JSON.stringify(manifest),
      ContentType: 'application/json',
      CacheControl: 'no-cache',
    }),
  );
  return manifest;
}

function option<Schema extends z.ZodType>(schema: Schema, name: string, value: unknown): z.output<Schema> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw ValidationError.fromZod(`--${name}`, parsed.error);
  return parsed.data;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { bucket: { type: 'string' }, prefix: { type: 'string' }, version: { type: 'string' } },
    strict: true,
  });
  const now = new Date();
  const bucket = option(BucketName, 'bucket', values.bucket);
  const prefix = option(ObjectKey, 'prefix', values.prefix ?? DEFAULT_RELEASE_PREFIX);
  const version = option(ReleaseVersion, 'version', values.version ?? (await defaultVersion(now)));
  const bundle = await bundlePilot(version);
  const manifest = await publishRelease(createAwsClients().s3, { bucket, prefix, version }, bundle, now);
  console.log(JSON.stringify({ ...manifest, bucket, bytes: bundle.length }));
}

main().catch((error: unknown) => {
  console.error(`publish failed: ${(error as Error).message}`);
  process.exitCode = 1;
});
