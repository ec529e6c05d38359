/**
 * Physical names of emulated resources: `<prefix>-<readable logical id>`, e.g. logical id
 * `InboundFilesDlq3F2A9C1B` under prefix `wms` becomes `wms-inbound-files-dlq`. Pure.
 */
import { createHash } from 'node:crypto';
import { RuntimeConfigurationError } from './errors.js';

/** The longest name each kind of resource accepts (SQS counts the `.fifo` suffix). */
export const NAME_LIMITS = {
  'AWS::SQS::Queue': 80,
  'AWS::DynamoDB::Table': 255,
  'AWS::Events::EventBus': 256,
  'AWS::Events::Rule': 64,
  'AWS::S3::Bucket': 63,
  'AWS::Lambda::Function': 64,
} as const;
export type NamedResourceType = keyof typeof NAME_LIMITS;

const PREFIX = /^[a-z][a-z0-9-]{0,18}[a-z0-9]$/;
/** CDK appends an 8-character hash of the construct path to every logical id. */
const CDK_HASH_SUFFIX = /[0-9A-F]{8}$/;
const DISAMBIGUATOR_LENGTH = 8;

function assertValidPrefix(prefix: string): void {
  if (!PREFIX.test(prefix)) {
    throw new RuntimeConfigurationError(
      `prefix ${JSON.stringify(prefix)} must be 2-20 characters of a-z, 0-9 and '-', starting with a letter (it is part of bucket names)`,
    );
  }
}

/** `InboundFilesDlq3F2A9C1B` → `inbound-files-dlq`. */
export function readableName(logicalId: string): string {
  const withoutHash = logicalId.length > 8 ? logicalId.replace(CDK_HASH_SUFFIX, '') : logicalId;
  const kebab = (withoutHash || logicalId)
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return kebab || 'resource';
}

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, DISAMBIGUATOR_LENGTH);
}

function fitName(prefix: string, readable: string, suffix: string, limit: number, logicalId: string): string {
  const name = `${prefix}-${readable}${suffix}`;
  if (name.length <= limit) return name;
  const tail = `-${shortHash(logicalId)}${suffix}`;
  const room = limit - prefix.length - 1 - tail.length;
  return `${prefix}-${readable.slice(0, room).replace(/-+$/, '')}${tail}`;
}

export interface NameRequest {
  logicalId: string;
  type: NamedResourceType;
  /** `.fifo` for FIFO queues. */
  suffix?: string;
}

/**
 * Names every requested resource. Two logical ids with the same readable name both get a
 * hash of their logical id appended, so names stay unique and deterministic.
 */
export function physicalNames(prefix: string, requests: readonly NameRequest[]): Map<string, string> {
  assertValidPrefix(prefix);
  const byReadable = new Map<string, number>();
  for (const request of requests) {
    const readable = readableName(request.logicalId);
    byReadable.set(readable, (byReadable.get(readable) ?? 0) + 1);
  }
  const names = new Map<string, string>();
  for (const request of requests) {
    const readable = readableName(request.logicalId);
    const unique =
      (byReadable.get(readable) ?? 0) > 1 ? `${readable}-${shortHash(request.logicalId)}` : readable;
    names.set(
      request.logicalId,
      fitName(prefix, unique, request.suffix ?? '', NAME_LIMITS[request.type], request.logicalId),
    );
  }
  return names;
}
