import { createHash, randomBytes } from 'node:crypto';
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

/** `pilot/releases/manifest.json`: the release pilots should run now. */
export const ReleaseManifest = z
  .object({
    version: ReleaseVersion,
    key: ObjectKey,
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits'),
    publishedAt: Timestamp,
  })
  .strict();
export type ReleaseManifest = z.infer<typeof ReleaseManifest>;

export const DEFAULT_RELEASE_PREFIX = 'pilot/releases';
const LAST_GOOD_FILE = 'last-good.json';

export function manifestKey(prefix: string): string {
  return `${prefix}/manifest.json`;
}

export function releaseKey(prefix: string, version: string): string {
  return `${prefix}/${version}.mjs`;
}

/** A release on local disk whose content matched its manifest's sha256. */
export interface CachedRelease {
  version: string;
  sha256: string;
  file: string;
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
 * Fetches the current release into `cacheDir`: reads the manifest, reuses a cached file
 * whose sha256 matches, or downloads the release and checks its sha256 before it is kept.
 * A verified release is recorded as the last good one.
 */
export async function fetchRelease(
  s3: S3Client,
  location: { bucket: string; prefix: string },
  cacheDir: string,
): Promise<CachedRelease> {
  await mkdir(cacheDir, { recursive: true });
  let manifest: ReleaseManifest;
  try {
    const parsed = ReleaseManifest.safeParse(
      JSON.parse((await getBytes(s3, location.bucket, manifestKey(location.prefix))).toString('utf8')),
    );
    if (!parsed.success) throw ValidationError.fromZod('release manifest', parsed.error);
    manifest = parsed.data;
  } catch (error) {
    throw new ReleaseError(
      `cannot read the release manifest s3://${location.bucket}/${manifestKey(location.prefix)}: ${(error as Error).message}`,
      { cause: error },
    );
  }
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
  const release = { version: manifest.version, sha256: manifest.sha256, file };
  await writeFile(path.join(cacheDir, LAST_GOOD_FILE), JSON.stringify(release));
  return release;
}

const CachedReleaseRecord = z.object({ version: ReleaseVersion, sha256: z.string(), file: z.string() });

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
