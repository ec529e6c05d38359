import { describe, expect, it } from 'vitest';
import { LIMITS } from '../shared/model/index.js';
import { PAGE_LIMIT } from './constants.js';
import { Checklist, NextToken, PageLimit, Reason, S3BucketName, S3Url } from './fields.js';
import { formatIssues } from './validation.js';

const pathsOf = (result: { success: boolean; error?: Parameters<typeof formatIssues>[0] }) =>
  result.error ? formatIssues(result.error).map((issue) => issue.path) : [];

describe('S3Url', () => {
  it('parses bucket and key, the key verbatim', () => {
    // Act
    const location = S3Url.parse('s3://spd-online-buffer/input/run 421/slice%2e%2e.raw');

    // Assess
    expect(location).toEqual({ bucket: 'spd-online-buffer', key: 'input/run 421/slice%2e%2e.raw' });
  });

  it.each([
    ['https://spd-online-buffer/input/a.raw', '(root)'],
    ['s3://spd-online-buffer', '(root)'],
    ['s3:///input/a.raw', 'bucket'],
    ['s3://Spd_Buffer/input/a.raw', 'bucket'],
    ['s3://spd-online-buffer/../a.raw', 'key'],
    ['s3://spd-online-buffer//etc/passwd', 'key'],
    ['s3://spd-online-buffer/input/a\u0000.raw', 'key'],
    ['s3://spd-online-buffer/input\\a.raw', 'key'],
    ['s3://spd-online-buffer/input/', 'key'],
  ])('refuses %j at %s', (url, path) => {
    // Act
    const result = S3Url.safeParse(url);

    // Assess
    expect(pathsOf(result)).toContain(path);
  });
});

describe('S3BucketName', () => {
  it.each(['spd..buffer', 'spd.-buffer', 'spd-.buffer', '192.168.10.1'])('refuses %j', (bucket) => {
    // Assess
    expect(S3BucketName.safeParse(bucket).success).toBe(false);
  });

  it('accepts a dotted name', () => {
    // Assess
    expect(S3BucketName.parse('spd.online.buffer')).toBe('spd.online.buffer');
  });
});

describe('Checklist', () => {
  it('names every repeated file at its index', () => {
    // Act
    const result = Checklist.safeParse(['a.raw', 'b.raw', 'a.raw', 'b.raw', 'c.raw']);

    // Assess
    expect(pathsOf(result)).toEqual(['[2]', '[3]']);
  });

  it('accepts an empty checklist (a dataset closed before any file was produced)', () => {
    // Assess
    expect(Checklist.parse([])).toEqual([]);
  });

  it('refuses more names than LIMITS.checklistFiles', () => {
    // Prepare
    const names = Array.from({ length: LIMITS.checklistFiles + 1 }, (_, index) => `f${index}.raw`);

    // Assess
    expect(pathsOf(Checklist.safeParse(names))).toEqual(['(root)']);
  });
});

describe('PageLimit', () => {
  it('defaults when absent and converts the query string', () => {
    // Assess
    expect(PageLimit.parse(undefined)).toBe(PAGE_LIMIT.default);
    expect(PageLimit.parse('1')).toBe(1);
    expect(PageLimit.parse(String(PAGE_LIMIT.max))).toBe(PAGE_LIMIT.max);
  });

  it.each(['0', '-1', '1001', '1.5', '1e2', ' 5', '', '10000'])('refuses %j', (limit) => {
    // Assess
    expect(PageLimit.safeParse(limit).success).toBe(false);
  });
});

describe('NextToken and Reason', () => {
  it('accept a base64url token and one line of text', () => {
    // Assess
    expect(NextToken.parse('eyJwayI6InRhc2sjMSJ9')).toBe('eyJwayI6InRhc2sjMSJ9');
    expect(Reason.parse('calibration of run 421 is wrong')).toBe('calibration of run 421 is wrong');
  });

  it('refuse padding, separators and control characters', () => {
    // Assess
    expect(NextToken.safeParse('eyJ9==').success).toBe(false);
    expect(NextToken.safeParse('a/b').success).toBe(false);
    expect(Reason.safeParse('line one\nline two').success).toBe(false);
    expect(Reason.safeParse('').success).toBe(false);
  });
});
