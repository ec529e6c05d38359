import {
  createHash,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  randomBytes,
  sign,
  verify,
} from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { ValidationError, WmsError } from '../../shared/errors/index.js';
import { ObjectKey, Timestamp } from '../../shared/model/index.js';

/** A release version: it names a file in the cache, so no separators. */
export const ReleaseVersion = z
  .string()
  .min(1)
  .max(64)
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._+-]*$/,
    'must be letters, digits and . _ + - (starting with a letter or digit)',
  );

/**
 * `pilot/releases/manifest.json`: the release pilots should run now, signed with the
 * operators' ed25519 key over all its fields (signedBytes). `publishedAt` is when this manifest
 * was signed: a daemon refuses one older than its last good release's, so an old signed
 * manifest written back is not a rollback; a rollback is signed anew. `previous` is the release
 * this one replaced, the one a rollback goes back to.
 */
export const ReleaseManifest = z
  .object({
    version: ReleaseVersion,
    key: ObjectKey,
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits'),
    publishedAt: Timestamp,
    previous: ReleaseVersion.optional(),
    signature: z.string().regex(/^[A-Za-z0-9+/]{86}==$/, 'must be an ed25519 signature in base64 (64 bytes)'),
  })
  .strict();
export type ReleaseManifest = z.infer<typeof ReleaseManifest>;
export type UnsignedManifest = Omit<ReleaseManifest, 'signature'>;

/** What a manifest's signature covers: a purpose tag and every field, in a fixed order. */
export function signedBytes(manifest: UnsignedManifest): Buffer {
  const { version, key, sha256, publishedAt, previous } = manifest;
  return Buffer.from(
    JSON.stringify(['spd-wms-pilot-release-manifest/1', version, key, sha256, publishedAt, previous ?? null]),
  );
}

export function signManifest(manifest: UnsignedManifest, privateKey: KeyObject): ReleaseManifest {
  const { version, key, sha256, publishedAt, previous } = manifest;
  const signature = sign(null, signedBytes(manifest), privateKey).toString('base64');
  return { version, key, sha256, publishedAt, ...(previous !== undefined && { previous }), signature };
}

/**
 * Why a manifest must not be run, or null: it must parse, be signed, its signature must verify
 * with the pinned public key, and it must not be older than the last good release's.
 */
export function manifestRefusal(
  raw: unknown,
  publicKey: KeyObject,
  lastGood: Pick<CachedRelease, 'version' | 'publishedAt'> | null,
): { refusal: string } | { manifest: ReleaseManifest; refusal?: undefined } {
  if (typeof raw === 'object' && raw !== null && !('signature' in raw))
    return { refusal: 'the release manifest is not signed' };
  const parsed = ReleaseManifest.safeParse(raw);
  if (!parsed.success) return { refusal: ValidationError.fromZod('release manifest', parsed.error).message };
  const manifest = parsed.data;
  if (!verify(null, signedBytes(manifest), publicKey, Buffer.from(manifest.signature, 'base64')))
    return {
      refusal: `the signature of release ${manifest.version} does not verify with the pinned public key`,
    };
  if (
    lastGood?.publishedAt !== undefined &&
    Date.parse(manifest.publishedAt) < Date.parse(lastGood.publishedAt)
  ) {
    return {
      refusal: `release ${manifest.version} was signed at ${manifest.publishedAt}, before the last good release ${lastGood.version} (${lastGood.publishedAt}): an old manifest written back, not a rollback`,
    };
  }
  return { manifest };
}

/** Reads an ed25519 key from a PEM file: the public one a daemon pins, or the private one that signs. */
export async function readSigningKey(file: string, kind: 'public' | 'private'): Promise<KeyObject> {
  let key: KeyObject;
  try {
    const pem = await readFile(file);
    key = kind === 'public' ? createPublicKey(pem) : createPrivateKey(pem);
  } catch (error) {
    throw new ReleaseError(`cannot read the release ${kind} key ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw new ReleaseError(`the release ${kind} key ${file} is ${key.asymmetricKeyType}, not ed25519`);
  return key;
}

export const DEFAULT_RELEASE_PREFIX = 'pilot/releases';
const LAST_GOOD_FILE = 'last-good.json';

export function manifestKey(prefix: string): string {
  return `${prefix}/manifest.json`;
}

export function releaseKey(prefix: string, version: string): string {
  return `${prefix}/${version}.mjs`;
}

/** A release on local disk whose manifest verified and whose content matched its sha256. */
export interface CachedRelease {
  version: string;
  sha256: string;
  file: string;
  /** When its manifest was signed; a release cached before manifests were signed has none. */
  publishedAt?: string;
}

/** A release that could not be fetched or did not match its manifest. */
export class ReleaseError extends WmsError {
  override readonly name: string = 'ReleaseError';
}

function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

async function getBytes(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
  const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const chunks: Buffer[] = [];
  for await (const chunk of response.Body as Readable) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Fetches the current release into `cacheDir`: reads the manifest and checks it
 * (manifestRefusal), reuses a cached file whose sha256 matches, or downloads the release and
 * checks its sha256 before it is kept. A verified release is recorded as the last good one.
 */
export async function fetchRelease(
  s3: S3Client,
  location: { bucket: string; prefix: string },
  cacheDir: string,
  publicKey: KeyObject,
): Promise<CachedRelease> {
  await mkdir(cacheDir, { recursive: true });
  const where = `s3://${location.bucket}/${manifestKey(location.prefix)}`;
  let raw: unknown;
  try {
    raw = JSON.parse((await getBytes(s3, location.bucket, manifestKey(location.prefix))).toString('utf8'));
  } catch (error) {
    throw new ReleaseError(`cannot read the release manifest ${where}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const checked = manifestRefusal(raw, publicKey, await lastGoodRelease(cacheDir));
  if (checked.refusal !== undefined) throw new ReleaseError(`${where}: ${checked.refusal}`);
  const { manifest } = checked;
  const file = path.join(cacheDir, `${manifest.version}.mjs`);
  const cached = await readFile(file).catch(() => null);
  if (cached === null || sha256Hex(cached) !== manifest.sha256) {
    const content = await getBytes(s3, location.bucket, manifest.key).catch((error: unknown) => {
      throw new ReleaseError(`cannot download release ${manifest.version}: ${(error as Error).message}`, {
        cause: error,
      });
    });
    const actual = sha256Hex(content);
    if (actual !== manifest.sha256) {
      throw new ReleaseError(
        `release ${manifest.version} has sha256 ${actual}, its manifest says ${manifest.sha256}`,
      );
    }
    const partial = `${file}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(partial, content, { mode: 0o644 });
    await rename(partial, file);
  }
  const release = {
    version: manifest.version,
    sha256: manifest.sha256,
    file,
    publishedAt: manifest.publishedAt,
  };
  await writeFile(path.join(cacheDir, LAST_GOOD_FILE), JSON.stringify(release));
  return release;
}

const CachedReleaseRecord = z.object({
  version: ReleaseVersion,
  sha256: z.string(),
  file: z.string(),
  publishedAt: Timestamp.optional(),
});

/** The last release that passed verification, checked again against its recorded sha256. */
export async function lastGoodRelease(cacheDir: string): Promise<CachedRelease | null> {
  let record: CachedRelease;
  try {
    record = CachedReleaseRecord.parse(
      JSON.parse(await readFile(path.join(cacheDir, LAST_GOOD_FILE), 'utf8')),
    );
  } catch {
    return null;
  }
  const content = await readFile(record.file).catch(() => null);
  if (content === null || sha256Hex(content) !== record.sha256) {
    await rm(path.join(cacheDir, LAST_GOOD_FILE), { force: true });
    return null;
  }
  return record;
}
