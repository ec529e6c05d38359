import { describe, expect, it } from 'vitest';
import { RuntimeConfigurationError, TemplateError } from './errors.js';
import { parseScheduleScale, rateIntervalMs } from './schedule-expression.js';

describe('rateIntervalMs', () => {
  it.each([
    ['rate(1 minute)', 60_000],
    ['rate(5 minutes)', 300_000],
    ['rate(1 hour)', 3_600_000],
    ['rate(2 days)', 172_800_000],
  ])('%s lasts %d ms', (expression, ms) => {
    expect(rateIntervalMs(expression)).toBe(ms);
  });

  it.each([
    'rate(1 minutes)',
    'rate(5 minute)',
    'rate(0 minutes)',
    'rate(1 second)',
    'cron(0 12 * * ? *)',
    'every minute',
  ])('refuses %s', (expression) => {
    expect(() => rateIntervalMs(expression)).toThrow(TemplateError);
  });
});

describe('parseScheduleScale', () => {
  it('accepts a positive factor', () => {
    expect(parseScheduleScale('0.05')).toBe(0.05);
    expect(parseScheduleScale('2')).toBe(2);
  });

  it.each(['0', '-1', 'fast', '', 'Infinity'])('refuses %j', (text) => {
    expect(() => parseScheduleScale(text)).toThrow(RuntimeConfigurationError);
  });
});
