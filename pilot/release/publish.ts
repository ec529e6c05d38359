/**
 * Publishes a signed pilot release, or rolls back to the previous one (docs/pilots.md).
 *
 *   npx tsx pilot/release/publish.ts --bucket <bucket> --signing-key <private.pem> [--prefix pilot/releases] [--version <v>]
 *   npx tsx pilot/release/publish.ts --bucket <bucket> --signing-key <private.pem> --rollback [--version <v>]
 *
 * Publishing bundles `pilot/agent/main.ts` into one ES module with esbuild, uploads it to
 * `<prefix>/<version>.mjs` with its signed manifest `<prefix>/<version>.manifest.json`, then points
 * `<prefix>/manifest.json` at it (the manifest last, so it never names a release that is not
 * there yet). Releases are kept, so a rollback re-signs the manifest of the previous one (or of
 * `--version`) with a new time, after checking its signature and its bundle's sha256.
 *
 * The S3 endpoint, region and credentials are the standard AWS ones (AWS_ENDPOINT_URL, ...).
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { z } from 'zod';
import { createAwsClients } from '../../shared/aws/index.js';
import { ValidationError } from '../../shared/errors/index.js';
import { BucketName, ObjectKey } from '../../shared/model/index.js';
import {
  DEFAULT_RELEASE_PREFIX,
  manifestKey,
  manifestRefusal,
  type ReleaseManifest,
  ReleaseVersion,
  readSigningKey,
  releaseKey,
  signManifest,
} from '../daemon/index.js';
import { bundleEntry } from './bundle.js';

const PILOT_ENTRY = fileURLToPath(new URL('../agent/main.ts', import.meta.url));
const PACKAGE_JSON = fileURLToPath(new URL('../../package.json', import.meta.url));

interface Target {
  s3: S3Client;
  bucket: string;
  prefix: string;
  signingKey: KeyObject;
}

/** The signed manifest a release was published with, kept beside it for rollbacks. */
function releaseManifestKey(prefix: string, version: string): string {
  return `${prefix}/${version}.manifest.json`;
}

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

function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

async function getBytes(target: Target, key: string): Promise<Buffer | null> {
  try {
    const response = await target.s3.send(new GetObjectCommand({ Bucket: target.bucket, Key: key }));
    const chunks: Buffer[] = [];
    for await (const chunk of response.Body as Readable) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey') return null;
    throw error;
  }
}

async function putJson(target: Target, key: string, value: unknown): Promise<void> {
  await target.s3.send(
    new PutObjectCommand({
      Bucket: target.bucket,
      Key: key,
      Body: JSON.stringify(value),
      ContentType: 'application/json',
      CacheControl: 'no-cache',
    }),
  );
}

/** A signed manifest stored at `key`, checked with our own public key; null when absent. */
async function readSignedManifest(target: Target, key: string): Promise<ReleaseManifest | null> {
  const bytes = await getBytes(target, key);
  if (bytes === null) return null;
  const checked = manifestRefusal(
    JSON.parse(bytes.toString('utf8')),
    createPublicKey(target.signingKey),
    null,
  );
  if (checked.refusal !== undefined) throw new Error(`s3://${target.bucket}/${key}: ${checked.refusal}`);
  return checked.manifest;
}

/** Uploads a bundle and its signed manifest, then the current manifest naming it. */
async function publishRelease(
  target: Target,
  version: string,
  bundle: Uint8Array,
  now: Date,
): Promise<ReleaseManifest> {
  // The release replaced, if the current manifest is ours: the one a rollback returns to.
  const current = await readSignedManifest(target, manifestKey(target.prefix)).catch((error: unknown) => {
    console.error(`the current manifest is not kept as the previous release: ${(error as Error).message}`);
    return null;
  });
  const key = releaseKey(target.prefix, version);
  const manifest = signManifest(
    {
      version,
      key,
      sha256: sha256Hex(bundle),
      publishedAt: now.toISOString(),
      ...(current !== null && current.version !== version && { previous: current.version }),
    },
    target.signingKey,
  );
  await target.s3.send(
    new PutObjectCommand({
      Bucket: target.bucket,
      Key: key,
      Body: bundle,
      ContentType: 'text/javascript',
      ChecksumAlgorithm: 'SHA256',
    }),
  );
  await putJson(target, releaseManifestKey(target.prefix, version), manifest);
  await putJson(target, manifestKey(target.prefix), manifest);
  return manifest;
}

/**
 * Points the manifest back at the previous release (or `version`), signed anew with the time
 * of the rollback so daemons take it as the newest. Its stored manifest must verify and its
 * bundle must still match the sha256 signed then.
 */
async function rollBack(target: Target, version: string | undefined, now: Date): Promise<ReleaseManifest> {
  const current = await readSignedManifest(target, manifestKey(target.prefix));
  const wanted = version ?? current?.previous;
  if (wanted === undefined)
    throw new Error('the current manifest names no previous release: give the version with --version');
  const earlier = await readSignedManifest(target, releaseManifestKey(target.prefix, wanted));
  if (earlier === null) throw new Error(`release ${wanted} has no stored manifest to roll back to`);
  const bundle = await getBytes(target, earlier.key);
  if (bundle === null || sha256Hex(bundle) !== earlier.sha256)
    throw new Error(`the bundle of release ${wanted} is missing or no longer matches its signed sha256`);
  const { signature: _, ...fields } = earlier;
  const manifest = signManifest({ ...fields, publishedAt: now.toISOString() }, target.signingKey);
  await putJson(target, manifestKey(target.prefix), manifest);
  return manifest;
}

/** The signing key, refused when others than its owner may read it (as ssh refuses such keys). */
async function readPrivateSigningKey(file: string): Promise<KeyObject> {
  const { mode } = await stat(file);
  if ((mode & 0o077) !== 0)
    throw new Error(
      `the signing key ${file} may be read by others (mode ${(mode & 0o777).toString(8)}): chmod 600 it`,
    );
  return readSigningKey(file, 'private');
}

function option<Schema extends z.ZodType>(schema: Schema, name: string, value: unknown): z.output<Schema> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw ValidationError.fromZod(`--${name}`, parsed.error);
  return parsed.data;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      bucket: { type: 'string' },
      prefix: { type: 'string' },
      version: { type: 'string' },
      'signing-key': { type: 'string' },
      rollback: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values['signing-key'] === undefined)
    throw new Error('--signing-key <private.pem> is required: releases are signed (see docs/pilots.md)');
  const now = new Date();
  const target: Target = {
    s3: createAwsClients().s3,
    bucket: option(BucketName, 'bucket', values.bucket),
    prefix: option(ObjectKey, 'prefix', values.prefix ?? DEFAULT_RELEASE_PREFIX),
    signingKey: await readPrivateSigningKey(values['signing-key']),
  };
  if (values.rollback) {
    const version =
      values.version === undefined ? undefined : option(ReleaseVersion, 'version', values.version);
    const manifest = await rollBack(target, version, now);
    console.log(JSON.stringify({ ...manifest, bucket: target.bucket, rolledBack: true }));
    return;
  }
  const version = option(ReleaseVersion, 'version', values.version ?? (await defaultVersion(now)));
  const bundle = await bundlePilot(version);
  const manifest = await publishRelease(target, version, bundle, now);
  console.log(JSON.stringify({ ...manifest, bucket: target.bucket, bytes: bundle.length }));
}

main().catch((error: unknown) => {
  console.error(`publish failed: ${(error as Error).message}`);
  process.exitCode = 1;
});
