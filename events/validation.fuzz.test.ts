import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../shared/errors/index.js';
import { FileName } from '../shared/model/index.js';
import { SCHEMA_CATALOG, SCHEMA_NAMES, type SchemaName } from './catalog.js';
import { sqsEventBridgeRecordSchema } from './eventbridge.js';
import { S3Url } from './fields.js';
import { readSample } from './samples.js';
import { parseOrThrow } from './validation.js';

const isControl = (char: string) => char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f;
const hasControl = (text: string) => [...text].some(isControl);

// Strings made mostly of the characters that make names dangerous, so the risky cases are common.
const hostileUnit = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom('.', '/', '\\', 'a', '-', '\u0000', '\n', '\u001f', '\u007f', 'é'),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
);
const hostileString = fc.oneof(
  fc.string({ unit: hostileUnit, maxLength: 40 }),
  fc.string({ unit: 'binary' }),
);

function attemptParse(schema: Parameters<typeof parseOrThrow>[0], value: unknown): unknown {
  try {
    parseOrThrow(schema, value, 'fuzzed value');
    return undefined;
  } catch (error) {
    return error;
  }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Every path to a value inside `value`, the root excluded. */
function pathsOf(value: Json, prefix: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value))
    return value.flatMap((item, index) => [[...prefix, index], ...pathsOf(item, [...prefix, index])]);
  if (value !== null && typeof value === 'object')
    return Object.entries(value).flatMap(([key, item]) => [
      [...prefix, key],
      ...pathsOf(item, [...prefix, key]),
    ]);
  return [];
}

function replaced(value: Json, path: (string | number)[], replacement: Json): Json {
  const [head, ...rest] = path;
  if (head === undefined) return replacement;
  const copy = structuredClone(value) as Record<string | number, Json>;
  copy[head] = replaced(copy[head]!, rest, replacement);
  return copy as Json;
}

/** A sample of `name` with one field, anywhere in it, replaced by arbitrary JSON or a hostile string. */
function mutatedSample(name: SchemaName) {
  const sample = readSample(name) as Json;
  const paths = pathsOf(sample);
  return fc
    .tuple(fc.constantFrom(...paths), fc.oneof(fc.jsonValue(), hostileString))
    .map(([path, replacement]) => replaced(sample, path, replacement as Json));
}

describe('FileName under fuzzing', () => {
  it('never accepts a name holding "..", a separator or a control character', () => {
    fc.assert(
      fc.property(hostileString, (name) => {
        // Act
        const accepted = FileName.safeParse(name).success;

        // Assess
        const dangerous = name === '..' || name === '.' || /[/\\]/.test(name) || hasControl(name);
        expect(accepted && dangerous).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('S3Url under fuzzing', () => {
  it('never yields a key that is absolute, climbs out or holds a backslash or control character', () => {
    fc.assert(
      fc.property(hostileString, (tail) => {
        // Act
        const result = S3Url.safeParse(`s3://spd-online-buffer/${tail}`);

        // Assess
        if (result.success) {
          const { key } = result.data;
          expect(key.startsWith('/')).toBe(false);
          expect(key.split('/')).not.toContain('..');
          expect(/[\\]/.test(key) || hasControl(key)).toBe(false);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('parseOrThrow under fuzzing', () => {
  it.each(SCHEMA_NAMES)('throws nothing but ValidationError for arbitrary JSON as %s', (name) => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        // Act
        const error = attemptParse(SCHEMA_CATALOG[name].schema, value);

        // Assess
        expect(error === undefined || error instanceof ValidationError).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it.each(SCHEMA_NAMES)('throws nothing but ValidationError for a mutated %s sample', (name) => {
    fc.assert(
      fc.property(mutatedSample(name), (value) => {
        // Act
        const error = attemptParse(SCHEMA_CATALOG[name].schema, value);

        // Assess
        expect(error === undefined || error instanceof ValidationError).toBe(true);
        if (error instanceof ValidationError) expect(error.issues.length).toBeGreaterThan(0);
      }),
      { numRuns: 200 },
    );
  });

  it('throws nothing but ValidationError for SQS records with arbitrary bodies', () => {
    // Prepare
    const schema = sqsEventBridgeRecordSchema('file.input', 'dataset.close');
    const record = {
      messageId: 'm-1',
      receiptHandle: 'AQEB',
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: '1763111560000',
        SenderId: 'AIDAIENQZJOLO23YVJ4VO',
        ApproximateFirstReceiveTimestamp: '1763111560012',
      },
      messageAttributes: {},
      md5OfBody: 'e4e68fb7bd0e697a0ae8f1bb342846b3',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:eu-central-1:123456789012:wms-dsm',
      awsRegion: 'eu-central-1',
    };
    const body = fc.oneof(
      hostileString,
      fc.json(),
      fc.jsonValue().map((detail) => JSON.stringify({ detail })),
    );

    fc.assert(
      fc.property(body, (text) => {
        // Act
        const error = attemptParse(schema, { ...record, body: text });

        // Assess
        expect(error === undefined || error instanceof ValidationError).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
