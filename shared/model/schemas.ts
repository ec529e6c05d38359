import { z } from 'zod';
import {
  DATASET_KINDS,
  DATASET_STATES,
  DEGRADED_CAPABILITIES,
  DEVICES,
  FILE_KINDS,
  JOB_MODES,
  JOB_PHASES,
  JOB_STATES,
  LIMITS,
  PILOT_STATES,
  RANK_MAX,
  TASK_STATES,
} from './constants.js';
import { NAME_NORMALIZATION } from './names.js';

// Printable characters only: no control characters anywhere in names, keys or args.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/**
 * A plain file name: no directory part, no traversal, no control characters; kept in Unicode
 * NFC (see names.ts), so every boundary that takes a file name takes one spelling of it.
 */
export const FileName = z
  .string()
  .normalize(NAME_NORMALIZATION)
  .min(1)
  .max(LIMITS.fileNameLength)
  .refine((s) => !CONTROL_CHARS.test(s), 'must not contain control characters')
  .refine((s) => !s.includes('/') && !s.includes('\\'), 'must not contain a path separator')
  .refine((s) => s !== '.' && s !== '..', 'must not be "." or ".."');

/** A relative object key: segments separated by '/', none empty, '.' or '..'. */
export const ObjectKey = z
  .string()
  .min(1)
  .max(LIMITS.objectKeyLength)
  .refine((s) => !CONTROL_CHARS.test(s), 'must not contain control characters')
  .refine((s) => !s.startsWith('/'), 'must be relative (no leading "/")')
  .refine((s) => !s.includes('\\'), 'must not contain a backslash')
  .refine(
    (s) => s.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..'),
    'must not contain empty, "." or ".." segments',
  );

export const BucketName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid S3 bucket name');

/** Where a file lives in S3-compatible storage. */
export const ObjectLocation = z.object({ bucket: BucketName, key: ObjectKey }).strict();

/** `sha256:<64 hex>` or `adler32:<8 hex>` (the HEP classic). */
export const Checksum = z
  .string()
  .regex(/^(sha256:[0-9a-f]{64}|adler32:[0-9a-f]{8})$/, 'must be "sha256:<64 hex>" or "adler32:<8 hex>"');

export const Identifier = z
  .string()
  .min(1)
  .max(128)
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._:-]*$/,
    'must be letters, digits and . _ : - (starting with a letter or digit)',
  );

export const DatasetName = z
  .string()
  .min(1)
  .max(200)
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
    'must be letters, digits and . _ - (starting with a letter or digit)',
  );

export const Executable = z
  .string()
  .min(1)
  .max(1024)
  .refine((s) => !CONTROL_CHARS.test(s), 'must not contain control characters')
  .refine((s) => !/[;&|`$<>]/.test(s), 'must be a program, not a shell command');

export const Args = z
  .array(
    z
      .string()
      .max(LIMITS.argLength)
      .refine((s) => !CONTROL_CHARS.test(s), 'must not contain control characters'),
  )
  .max(LIMITS.argsCount);

export const Rank = z.number().int().min(1).max(RANK_MAX);
export const Timestamp = z.iso.datetime();
export const SizeBytes = z.number().int().min(0).max(LIMITS.fileSizeBytes);

export const TaskStateSchema = z.enum(TASK_STATES);
export const JobStateSchema = z.enum(JOB_STATES);
export const JobPhaseSchema = z.enum(JOB_PHASES);
export const PilotStateSchema = z.enum(PILOT_STATES);
export const DatasetStateSchema = z.enum(DATASET_STATES);
export const DatasetKindSchema = z.enum(DATASET_KINDS);
export const FileKindSchema = z.enum(FILE_KINDS);
export const DeviceSchema = z.enum(DEVICES);
export const DegradedCapabilitySchema = z.enum(DEGRADED_CAPABILITIES);
export const JobModeSchema = z.enum(JOB_MODES);

/** A file as a job sees it: name, location, size, checksum. */
export const FileRef = z
  .object({
    name: FileName,
    location: ObjectLocation,
    size: SizeBytes,
    checksum: Checksum,
  })
  .strict();
export type FileRef = z.infer<typeof FileRef>;
