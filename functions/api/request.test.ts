import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CancelTaskRequest, RegisterTaskRequest, TaskListQuery } from '../../events/api.js';
import { ValidationError } from '../../shared/errors/index.js';
import { PayloadTooLargeError, UnsupportedMediaTypeError } from './errors.js';
import { bodyOf, MAX_BODY_BYTES, pathParams, queryOf, serverUrlOf } from './request.js';

function issuesOf(action: () => unknown) {
  try {
    action();
  } catch (error) {
    if (error instanceof ValidationError) return error.issues;
    throw error;
  }
  throw new Error('expected a ValidationError');
}

const task = {
  name: 'reco',
  executable: '/opt/spd/bin/reco',
  device: 'CPU',
  inputDatasetUid: 'ds-in',
  outputDataset: 'out',
  logDataset: 'logs',
};

const JSON_HEADERS = { 'Content-Type': 'application/json' };

describe('bodyOf', () => {
  it('takes application/json with parameters, in any case of the header and media type', () => {
    for (const headers of [
      { 'content-type': 'application/json; charset=utf-8' },
      { 'CONTENT-TYPE': 'Application/JSON' },
    ]) {
      expect(
        bodyOf({ body: '{"reason":"obsolete"}', isBase64Encoded: false, headers }, CancelTaskRequest),
      ).toEqual({
        reason: 'obsolete',
      });
    }
  });

  it('refuses a body of another media type, or of none, before reading it', () => {
    const body = '{"reason":"obsolete"}';
    for (const headers of [{ 'Content-Type': 'text/plain' }, { 'Content-Type': 'application/jsonx' }, {}]) {
      expect(() => bodyOf({ body, isBase64Encoded: false, headers }, CancelTaskRequest)).toThrow(
        UnsupportedMediaTypeError,
      );
    }
  });

  it('parses a JSON body with the schema, defaults filled in', () => {
    const body = bodyOf(
      { body: JSON.stringify(task), isBase64Encoded: false, headers: JSON_HEADERS },
      RegisterTaskRequest,
    );
    expect(body).toMatchObject({ ...task, args: [], mode: 'map', rank: 1 });
  });

  it('decodes a base64-encoded body', () => {
    const encoded = Buffer.from(JSON.stringify({ reason: 'obsolete' })).toString('base64');
    expect(
      bodyOf({ body: encoded, isBase64Encoded: true, headers: JSON_HEADERS }, CancelTaskRequest),
    ).toEqual({
      reason: 'obsolete',
    });
  });

  it('names malformed JSON and a missing body at the root', () => {
    expect(
      issuesOf(() =>
        bodyOf({ body: '{"reason": ', isBase64Encoded: false, headers: JSON_HEADERS }, CancelTaskRequest),
      ),
    ).toEqual([{ path: '(root)', message: expect.stringMatching(/^is not valid JSON: /) }]);
    expect(
      issuesOf(() =>
        bodyOf({ body: null, isBase64Encoded: false, headers: JSON_HEADERS }, CancelTaskRequest),
      ),
    ).toEqual([{ path: '(root)', message: 'a JSON body is required' }]);
  });

  it('names each bad field, and an unknown one as such', () => {
    const body = JSON.stringify({ ...task, device: 'TPU', args: ['ok', 'bad\u0007'], shell: 'bash' });
    const issues = issuesOf(() =>
      bodyOf({ body, isBase64Encoded: false, headers: JSON_HEADERS }, RegisterTaskRequest),
    );
    expect(issues).toHaveLength(3);
    expect(issues).toEqual(
      expect.arrayContaining([
        { path: 'shell', message: 'unknown field' },
        { path: 'args[1]', message: 'must not contain control characters' },
        { path: 'device', message: expect.any(String) },
      ]),
    );
  });

  it('refuses a body larger than the limit before parsing it', () => {
    const body = JSON.stringify({ reason: 'x'.repeat(MAX_BODY_BYTES) });
    expect(() => bodyOf({ body, isBase64Encoded: false, headers: JSON_HEADERS }, CancelTaskRequest)).toThrow(
      PayloadTooLargeError,
    );
  });

  it('ignores a body the route does not take', () => {
    expect(
      bodyOf({ body: 'not json', isBase64Encoded: false, headers: JSON_HEADERS }, undefined),
    ).toBeUndefined();
  });

  it('turns any text into a parsed body or a ValidationError, never anything else', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (text) => {
        try {
          bodyOf({ body: text, isBase64Encoded: false, headers: JSON_HEADERS }, CancelTaskRequest);
        } catch (error) {
          expect(error).toBeInstanceOf(ValidationError);
        }
      }),
    );
  });
});

describe('queryOf', () => {
  it('parses the query string with the schema', () => {
    expect(queryOf({ queryStringParameters: { state: 'RUNNING', limit: '20' } }, TaskListQuery)).toEqual({
      state: 'RUNNING',
      limit: 20,
    });
    expect(queryOf({ queryStringParameters: null }, TaskListQuery)).toEqual({ limit: 100 });
  });

  it('names bad and unknown parameters under query.', () => {
    const issues = issuesOf(() =>
      queryOf({ queryStringParameters: { limit: '0', sort: 'asc' } }, TaskListQuery),
    );
    expect(issues).toHaveLength(2);
    expect(issues).toEqual(
      expect.arrayContaining([
        { path: 'query.sort', message: 'unknown field' },
        { path: 'query.limit', message: 'must be a positive integer' },
      ]),
    );
  });

  it('refuses any parameter on a route that takes none', () => {
    expect(issuesOf(() => queryOf({ queryStringParameters: { verbose: '1' } }, undefined))).toEqual([
      { path: 'query.verbose', message: 'unknown parameter' },
    ]);
  });
});

describe('pathParams', () => {
  it('accepts identifiers and names a bad one under path.', () => {
    expect(pathParams({ taskId: 't-1', jobId: 'j-1' })).toEqual({ taskId: 't-1', jobId: 'j-1' });
    expect(issuesOf(() => pathParams({ taskId: '../etc' }))).toEqual([
      { path: 'path.taskId', message: expect.stringMatching(/^must be letters, digits/) },
    ]);
  });
});

describe('serverUrlOf', () => {
  const requestContext = { domainName: 'abc123.execute-api.eu-central-1.amazonaws.com', stage: 'v1' };

  it('is the domain and stage the caller used, https by default', () => {
    expect(serverUrlOf({ headers: {}, requestContext } as never)).toBe(
      'https://abc123.execute-api.eu-central-1.amazonaws.com/v1',
    );
  });

  it('takes the scheme a front end forwards, and leaves out the $default stage', () => {
    const event = {
      headers: { 'X-Forwarded-Proto': 'http' },
      requestContext: { domainName: '127.0.0.1:4010', stage: '$default' },
    };
    expect(serverUrlOf(event as never)).toBe('http://127.0.0.1:4010');
  });
});
