import { describe, expect, it } from 'vitest';
import { configuredEndpoint, ENDPOINT_VARIABLE } from './attach.js';
import { RuntimeConfigurationError } from './errors.js';

describe('the endpoint the runtime attaches to', () => {
  it('is --endpoint before WMS_LOCAL_ENDPOINT, as a bare origin; none when neither is set', () => {
    const env = { [ENDPOINT_VARIABLE]: 'http://localhost:4566/' };
    expect(configuredEndpoint('http://127.0.0.1:5000', env)).toBe('http://127.0.0.1:5000');
    expect(configuredEndpoint(undefined, env)).toBe('http://localhost:4566');
    expect(configuredEndpoint(undefined, {})).toBeUndefined();
    expect(configuredEndpoint(undefined, { [ENDPOINT_VARIABLE]: '' })).toBeUndefined();
  });

  it('refuses what is not a bare http(s) endpoint, naming where it came from', () => {
    expect(() => configuredEndpoint('localhost:4566', {})).toThrow(RuntimeConfigurationError);
    expect(() => configuredEndpoint(undefined, { [ENDPOINT_VARIABLE]: 'ftp://localhost' })).toThrow(
      /WMS_LOCAL_ENDPOINT ftp:\/\/localhost must be an http\(s\) URL/,
    );
    expect(() => configuredEndpoint('http://localhost:4566/restapis', {})).toThrow(
      /--endpoint .* must be a bare endpoint/,
    );
  });
});
