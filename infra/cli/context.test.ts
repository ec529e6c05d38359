import { describe, expect, it } from 'vitest';
import { resolveTarget } from './context.js';
import { CliError, EXIT_CODES } from './exit-codes.js';

const API = 'https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/v1/';

function failure(run: () => unknown): CliError {
  try {
    run();
  } catch (error) {
    if (error instanceof CliError) return error;
    throw error;
  }
  throw new Error('expected a CliError');
}

describe('resolveTarget', () => {
  it('takes the options first, then WMS_API_URL and AWS_REGION', () => {
    // Assess
    expect(resolveTarget({ apiUrl: API, region: 'us-east-1' }, { AWS_REGION: 'eu-north-1' })).toEqual({
      apiUrl: API,
      region: 'us-east-1',
    });
    expect(resolveTarget({}, { WMS_API_URL: 'http://127.0.0.1:4566/v1/', AWS_REGION: 'eu-north-1' })).toEqual(
      {
        apiUrl: 'http://127.0.0.1:4566/v1/',
        region: 'eu-north-1',
      },
    );
    expect(
      resolveTarget({}, { WMS_API_URL: 'http://127.0.0.1:4566/', AWS_DEFAULT_REGION: 'ap-south-1' }).region,
    ).toBe('ap-south-1');
  });

  it('reads the region from an API Gateway URL when none is configured', () => {
    // Assess
    expect(resolveTarget({ apiUrl: API }, {}).region).toBe('eu-west-1');
  });

  it('is a usage error without a URL, with one that is not http(s), or without a region', () => {
    // Act
    const errors = [
      failure(() => resolveTarget({}, { AWS_REGION: 'us-east-1' })),
      failure(() => resolveTarget({ apiUrl: 'ftp://example.org/' }, { AWS_REGION: 'us-east-1' })),
      failure(() => resolveTarget({ apiUrl: 'not a url' }, { AWS_REGION: 'us-east-1' })),
      failure(() => resolveTarget({ apiUrl: 'http://127.0.0.1:3000/' }, {})),
    ];

    // Assess
    for (const error of errors) expect(error.exitCode).toBe(EXIT_CODES.usage);
    expect(errors[0]!.message).toContain('WMS_API_URL');
    expect(errors[3]!.message).toContain('--region');
  });
});
