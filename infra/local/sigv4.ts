/**
 * Verification of AWS Signature Version 4 (Authorization header form) as API Gateway does it
 * for AWS_IAM methods: the signature is recomputed with the secret of the access key from
 * the runtime's credentials table, over exactly the headers the client signed, and the
 * request must be dated within 15 minutes of now. Refusals carry API Gateway's messages.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

const ALGORITHM = 'AWS4-HMAC-SHA256';
const MAX_SKEW_MS = 15 * 60 * 1000;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const Sha256 = Hash.bind(null, 'sha256');

export interface SignedRequest {
  method: string;
  /** The path as received, percent-encoding kept, without the query string. */
  path: string;
  /** The raw query string, without '?'. */
  query: string;
  /** Lower-case header names; repeated headers joined with ','. */
  headers: Readonly<Record<string, string>>;
  body: Uint8Array;
}

export interface SigV4Policy {
  region: string;
  service: string;
  /** Access key id → secret access key. */
  credentials: ReadonlyMap<string, string>;
  now: Date;
}

export type SigV4ErrorType =
  | 'MissingAuthenticationTokenException'
  | 'IncompleteSignatureException'
  | 'InvalidSignatureException'
  | 'UnrecognizedClientException';

export type SigV4Result =
  | { ok: true; accessKeyId: string }
  | { ok: false; errorType: SigV4ErrorType; message: string };

const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

function refuse(errorType: SigV4ErrorType, message: string): SigV4Result {
  return { ok: false, errorType, message };
}

interface Authorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

function parseAuthorization(header: string): Authorization | string {
  const space = header.indexOf(' ');
  const algorithm = space < 0 ? header : header.slice(0, space);
  if (algorithm !== ALGORITHM)
    return `Unsupported authorization algorithm ${JSON.stringify(algorithm)}; use ${ALGORITHM}`;
  const parameters = new Map<string, string>();
  for (const part of header.slice(space + 1).split(',')) {
    const equals = part.indexOf('=');
    if (equals > 0) parameters.set(part.slice(0, equals).trim(), part.slice(equals + 1).trim());
  }
  const missing = ['Credential', 'SignedHeaders', 'Signature'].filter((name) => !parameters.get(name));
  if (missing.length > 0)
    return missing.map((name) => `Authorization header requires '${name}' parameter.`).join(' ');
  const scope = (parameters.get('Credential') ?? '').split('/');
  if (scope.length !== 5 || scope[4] !== 'aws4_request') {
    return `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${parameters.get('Credential')}'`;
  }
  const [accessKeyId, date, region, service] = scope as [string, string, string, string];
  return {
    accessKeyId,
    date,
    region,
    service,
    signedHeaders: (parameters.get('SignedHeaders') ?? '').split(';'),
    signature: parameters.get('Signature') ?? '',
  };
}

function parseAmzDate(text: string): Date | undefined {
  const match = AMZ_DATE.exec(text);
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second] = match.map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second));
}

function amzDate(date: Date): string {
  return date.toISOString().replace(/[-:]|\.\d{3}/g, '');
}

/** Percent-decoding that leaves a malformed sequence as it is (the signature then fails). */
function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function parseQuery(query: string): Record<string, string | string[]> {
  const parsed: Record<string, string | string[]> = {};
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    const key = decode(equals < 0 ? pair : pair.slice(0, equals));
    const value = equals < 0 ? '' : decode(pair.slice(equals + 1));
    const existing = parsed[key];
    parsed[key] = existing === undefined ? value : [existing, value].flat();
  }
  return parsed;
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Checks the request's signature; never throws for a bad request, only refuses it. */
export async function verifySigV4(request: SignedRequest, policy: SigV4Policy): Promise<SigV4Result> {
  const header = request.headers.authorization;
  if (header === undefined || header === '')
    return refuse('MissingAuthenticationTokenException', 'Missing Authentication Token');
  const authorization = parseAuthorization(header);
  if (typeof authorization === 'string') return refuse('IncompleteSignatureException', authorization);

  const dateHeader = request.headers['x-amz-date'];
  const signingDate = dateHeader === undefined ? undefined : parseAmzDate(dateHeader);
  if (dateHeader === undefined || signingDate === undefined) {
    return refuse(
      'IncompleteSignatureException',
      "Authorization header requires existence of a valid 'X-Amz-Date' header.",
    );
  }
  if (!authorization.signedHeaders.includes('host')) {
    return refuse(
      'IncompleteSignatureException',
      "'Host' must be a 'SignedHeader' in the AWS Authorization.",
    );
  }
  if (authorization.date !== dateHeader.slice(0, 8)) {
    return refuse(
      'InvalidSignatureException',
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${authorization.date}' != '${dateHeader.slice(0, 8)}', from '${dateHeader}'.`,
    );
  }
  const skew = signingDate.getTime() - policy.now.getTime();
  if (skew < -MAX_SKEW_MS) {
    const earliest = new Date(policy.now.getTime() - MAX_SKEW_MS);
    return refuse(
      'InvalidSignatureException',
      `Signature expired: ${dateHeader} is now earlier than ${amzDate(earliest)} (${amzDate(policy.now)} - 15 min.)`,
    );
  }
  if (skew > MAX_SKEW_MS) {
    const latest = new Date(policy.now.getTime() + MAX_SKEW_MS);
    return refuse(
      'InvalidSignatureException',
      `Signature not yet current: ${dateHeader} is still later than ${amzDate(latest)} (${amzDate(policy.now)} + 15 min.)`,
    );
  }
  if (authorization.region !== policy.region) {
    return refuse(
      'InvalidSignatureException',
      `Credential should be scoped to a valid region, not '${authorization.region}'.`,
    );
  }
  if (authorization.service !== policy.service) {
    return refuse(
      'InvalidSignatureException',
      `Credential should be scoped to correct service: '${policy.service}'.`,
    );
  }
  const secretAccessKey = policy.credentials.get(authorization.accessKeyId);
  if (secretAccessKey === undefined) {
    return refuse('UnrecognizedClientException', 'The security token included in the request is invalid.');
  }
  const declaredPayloadHash = request.headers['x-amz-content-sha256'];
  if (
    declaredPayloadHash !== undefined &&
    declaredPayloadHash !== createHash('sha256').update(request.body).digest('hex')
  ) {
    return refuse(
      'InvalidSignatureException',
      'The provided x-amz-content-sha256 header does not match the request body.',
    );
  }

  const signedHeaders: Record<string, string> = {};
  for (const name of authorization.signedHeaders) {
    const value = request.headers[name];
    if (value === undefined) return refuse('InvalidSignatureException', SIGNATURE_MISMATCH);
    signedHeaders[name] = value;
  }
  const signer = new SignatureV4({
    credentials: { accessKeyId: authorization.accessKeyId, secretAccessKey },
    region: authorization.region,
    service: authorization.service,
    sha256: Sha256,
    applyChecksum: false,
  });
  const expected = await signer.sign(
    new HttpRequest({
      method: request.method,
      protocol: 'http:',
      hostname: signedHeaders.host ?? '',
      path: request.path,
      query: parseQuery(request.query),
      headers: signedHeaders,
      body: request.body,
    }),
    { signingDate, signableHeaders: new Set(authorization.signedHeaders) },
  );
  const expectedAuthorization = parseAuthorization(String(expected.headers.authorization));
  if (typeof expectedAuthorization === 'string')
    return refuse('InvalidSignatureException', SIGNATURE_MISMATCH);
  const sameHeaders =
    expectedAuthorization.signedHeaders.join(';') === [...authorization.signedHeaders].sort().join(';');
  if (!sameHeaders || !sameText(expectedAuthorization.signature, authorization.signature)) {
    return refuse('InvalidSignatureException', SIGNATURE_MISMATCH);
  }
  return { ok: true, accessKeyId: authorization.accessKeyId };
}
