/** Field schemas the event and API contracts add to those of shared/model. */
import { z } from 'zod';
import { BucketName, FileName, LIMITS, ObjectKey } from '../shared/model/index.js';
import { NEXT_TOKEN_MAX_LENGTH, PAGE_LIMIT, REASON_MAX_LENGTH, S3_URL_MAX_LENGTH } from './constants.js';

/** C0 control characters and DEL: they break log lines, terminals and file names. */
function hasControlCharacter(text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

const IPV4_ADDRESS = /^\d{1,3}(\.\d{1,3}){3}$/;

/** A bucket name as S3 accepts it: BucketName plus the rules on dots S3 also enforces. */
export const S3BucketName = BucketName.refine((s) => !s.includes('..'), 'must not contain ".."')
  .refine((s) => !s.includes('.-') && !s.includes('-.'), 'must not have "-" next to "."')
  .refine((s) => !IPV4_ADDRESS.test(s), 'must not be an IP address');

// `s` flag: a control character in the key must reach the key check, not fail the match.
const S3_URL = /^s3:\/\/([^/]*)\/(.*)$/s;

/**
 * `s3://<bucket>/<key>`, parsed into `{ bucket, key }` (an ObjectLocation). The key is taken
 * verbatim (no percent-decoding: S3 keys are not URL-encoded in an s3:// URL) and must be a
 * relative key without empty, "." or ".." segments, backslashes or control characters.
 */
export const S3Url = z
  .string()
  .max(S3_URL_MAX_LENGTH)
  .transform((url, ctx) => {
    const match = S3_URL.exec(url);
    if (!match) {
      ctx.addIssue({ code: 'custom', message: 'must be "s3://<bucket>/<key>"', input: url });
      return z.NEVER;
    }
    return { bucket: match[1], key: match[2] };
  })
  .pipe(z.object({ bucket: S3BucketName, key: ObjectKey }).strict())
  .meta({ pattern: '^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/[^/].*$' });

/** The checklist of a dataset: every file name it holds, each once. */
export const Checklist = z
  .array(FileName)
  .max(LIMITS.checklistFiles)
  .superRefine((names, ctx) => {
    const seen = new Set<string>();
    names.forEach((name, index) => {
      if (seen.has(name))
        ctx.addIssue({ code: 'custom', path: [index], message: `duplicate file name "${name}"` });
      seen.add(name);
    });
  })
  .meta({ uniqueItems: true });

/**
 * A checklist stored as an object instead of carried inline, for a dataset too large for one
 * event: where it is (`s3://<bucket>/<key>`, parsed into `location`), how many names it lists
 * and the sha256 of its bytes. Its format (shared/checklist): UTF-8, each name followed by
 * "\n", names in code-point order (`LC_ALL=C sort` of the NFC names), each once.
 */
export const ChecklistObjectReference = z
  .object({
    url: S3Url,
    count: z.number().int().min(0).max(LIMITS.checklistObjectFiles),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits'),
  })
  .strict()
  .transform(({ url, ...reference }) => ({ location: url, ...reference }));

/** Free text for people (why a task was cancelled): one line, bounded. */
export const Reason = z
  .string()
  .min(1)
  .max(REASON_MAX_LENGTH)
  .refine((s) => !hasControlCharacter(s), 'must not contain control characters');

/** The opaque token of the next page, exactly as a previous page returned it (base64url). */
export const NextToken = z
  .string()
  .min(1)
  .max(NEXT_TOKEN_MAX_LENGTH)
  .regex(/^[A-Za-z0-9_-]+$/, 'must be a token returned by a previous page');

/** `?limit=`: a query-string integer, PAGE_LIMIT.min..PAGE_LIMIT.max, PAGE_LIMIT.default when absent. */
export const PageLimit = z
  .string()
  .regex(/^[1-9][0-9]{0,3}$/, 'must be a positive integer')
  .transform(Number)
  .pipe(z.number().int().min(PAGE_LIMIT.min).max(PAGE_LIMIT.max))
  .default(PAGE_LIMIT.default);
