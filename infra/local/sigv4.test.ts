import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { type SignedRequest, type SigV4Policy, verifySigV4 } from './sigv4.js';

const KEY = { accessKeyId: 'AKIDPILOT0001', secretAccessKey: 'pilot-secret' };
const NOW = new Date('2025-03-01T12:00:00Z');
const POLICY: SigV4Policy = {
  region: 'eu-north-1',
  service: 'execute-api',
  credentials: new Map([[KEY.accessKeyId, KEY.secretAccessKey]]),
  now: NOW,
};

interface Unsigned {
  method: string;
  path: string;
  query?: Record<string, string>;
  body?: string;
  headers?: Record<string, string>;
}

async function signed(
  request: Unsigned,
  options: { key?: typeof KEY; at?: Date; region?: string; service?: string } = {},
): Promise<SignedRequest> {
  const signer = new SignatureV4({
    credentials: options.key ?? KEY,
    region: options.region ?? POLICY.region,
    service: options.service ?? POLICY.service,
    sha256: Hash.bind(null, 'sha256'),
  });
  const body = request.body ?? '';
  const result = await signer.sign(
    new HttpRequest({
      method: request.method,
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: 4010,
      path: request.path,
      query: request.query ?? {},
      headers: { host: '127.0.0.1:4010', 'content-type': 'application/json', ...request.headers },
      body,
    }),
    { signingDate: options.at ?? NOW },
  );
  const headers = Object.fromEntries(
    Object.entries(result.headers).map(([name, value]) => [name.toLowerCase(), String(value)]),
  );
  const query = new URLSearchParams(request.query ?? {}).toString().replaceAll('+', '%20');
  return { method: request.method, path: request.path, query, headers, body: Buffer.from(body) };
}

describe('verifySigV4', () => {
  it('accepts a request signed with a known key, query and body included', async () => {
    const request = await signed({
      method: 'POST',
      path: '/prod/tasks/t-1/cancel',
      query: { reason: 'operator request', b: '2' },
      body: '{"force":true}',
    });

    expect(await verifySigV4(request, POLICY)).toEqual({ ok: true, accessKeyId: KEY.accessKeyId });
  });

  it('accepts a signature up to 15 minutes old', async () => {
    const request = await signed(
      { method: 'GET', path: '/prod/tasks' },
      { at: new Date(NOW.getTime() - 14 * 60_000) },
    );

    expect((await verifySigV4(request, POLICY)).ok).toBe(true);
  });

  it('refuses a request without Authorization as a missing token', async () => {
    const request = await signed({ method: 'GET', path: '/prod/tasks' });
    const { authorization: _dropped, ...headers } = request.headers;

    expect(await verifySigV4({ ...request, headers }, POLICY)).toEqual({
      ok: false,
      errorType: 'MissingAuthenticationTokenException',
      message: 'Missing Authentication Token',
    });
  });

  it('refuses a signature made with the wrong secret', async () => {
    const request = await signed(
      { method: 'GET', path: '/prod/tasks' },
      { key: { ...KEY, secretAccessKey: 'guessed' } },
    );

    expect(await verifySigV4(request, POLICY)).toMatchObject({
      ok: false,
      errorType: 'InvalidSignatureException',
    });
  });

  it('refuses an unknown access key', async () => {
    const request = await signed(
      { method: 'GET', path: '/prod/tasks' },
      { key: { accessKeyId: 'AKIDOTHER', secretAccessKey: 'x' } },
    );

    expect(await verifySigV4(request, POLICY)).toEqual({
      ok: false,
      errorType: 'UnrecognizedClientException',
      message: 'The security token included in the request is invalid.',
    });
  });

  it.each([
    ['the body', (request: SignedRequest) => ({ ...request, body: Buffer.from('{"force":false}') })],
    ['the path', (request: SignedRequest) => ({ ...request, path: '/prod/tasks/t-2/cancel' })],
    ['the query', (request: SignedRequest) => ({ ...request, query: 'reason=other' })],
    ['the method', (request: SignedRequest) => ({ ...request, method: 'PUT' })],
    [
      'a signed header',
      (request: SignedRequest) => ({
        ...request,
        headers: { ...request.headers, 'content-type': 'text/plain' },
      }),
    ],
  ])('refuses a request whose %s changed after signing', async (_label, tamper) => {
    const request = await signed({
      method: 'POST',
      path: '/prod/tasks/t-1/cancel',
      query: { reason: 'x' },
      body: '{"force":true}',
    });

    expect(await verifySigV4(tamper(request), POLICY)).toMatchObject({
      ok: false,
      errorType: 'InvalidSignatureException',
    });
  });

  it('refuses an expired signature with API Gateway message', async () => {
    const request = await signed(
      { method: 'GET', path: '/prod/tasks' },
      { at: new Date(NOW.getTime() - 16 * 60_000) },
    );

    expect(await verifySigV4(request, POLICY)).toEqual({
      ok: false,
      errorType: 'InvalidSignatureException',
      message:
        'Signature expired: 20250301T114400Z is now earlier than 20250301T114500Z (20250301T120000Z - 15 min.)',
    });
  });

  it('refuses a signature dated too far in the future', async () => {
    const request = await signed(
      { method: 'GET', path: '/prod/tasks' },
      { at: new Date(NOW.getTime() + 16 * 60_000) },
    );

    expect(await verifySigV4(request, POLICY)).toMatchObject({
      ok: false,
      message: expect.stringMatching(/^Signature not yet current/),
    });
  });

  it('refuses a signature scoped to another region or service', async () => {
    const otherRegion = await signed({ method: 'GET', path: '/prod/tasks' }, { region: 'us-east-1' });
    const otherService = await signed({ method: 'GET', path: '/prod/tasks' }, { service: 'sqs' });

    expect(await verifySigV4(otherRegion, POLICY)).toMatchObject({
      ok: false,
      message: expect.stringMatching(/valid region/),
    });
    expect(await verifySigV4(otherService, POLICY)).toMatchObject({
      ok: false,
      message: expect.stringMatching(/execute-api/),
    });
  });

  it('refuses a body that does not match its declared x-amz-content-sha256', async () => {
    const request = await signed({
      method: 'POST',
      path: '/prod/tasks',
      body: '{}',
      headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    });

    expect(await verifySigV4(request, POLICY)).toMatchObject({
      ok: false,
      errorType: 'InvalidSignatureException',
    });
  });

  it.each([
    [
      'another algorithm',
      'AWS4-HMAC-SHA512 Credential=a/b/c/d/aws4_request, SignedHeaders=host, Signature=x',
    ],
    [
      'a missing Signature',
      `AWS4-HMAC-SHA256 Credential=${KEY.accessKeyId}/20250301/eu-north-1/execute-api/aws4_request, SignedHeaders=host`,
    ],
    ['a short credential scope', 'AWS4-HMAC-SHA256 Credential=a/b, SignedHeaders=host, Signature=x'],
  ])('refuses an Authorization header with %s as incomplete', async (_label, authorization) => {
    const request = await signed({ method: 'GET', path: '/prod/tasks' });

    expect(
      await verifySigV4({ ...request, headers: { ...request.headers, authorization } }, POLICY),
    ).toMatchObject({
      ok: false,
      errorType: 'IncompleteSignatureException',
    });
  });
});
