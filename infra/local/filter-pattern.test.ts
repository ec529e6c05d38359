import { describe, expect, it } from 'vitest';
import { FilterPatternError } from './errors.js';
import { compileFilterCriteria, compileFilterPattern } from './filter-pattern.js';

function insertOf(image: Record<string, unknown>, eventName = 'INSERT') {
  return { eventName, dynamodb: { NewImage: image } };
}

describe('compileFilterPattern', () => {
  it('matches exact strings at nested paths, all fields required', () => {
    const matches = compileFilterPattern(
      '{"eventName":["INSERT"],"dynamodb":{"NewImage":{"state":{"S":["READY"]}}}}',
    );

    expect(matches(insertOf({ state: { S: 'READY' } }))).toBe(true);
    expect(matches(insertOf({ state: { S: 'READY' } }, 'MODIFY'))).toBe(false);
    expect(matches(insertOf({ state: { S: 'QUEUED' } }))).toBe(false);
    expect(matches(insertOf({}))).toBe(false);
    expect(matches({ eventName: 'INSERT' })).toBe(false);
  });

  it('treats a list as alternatives and an event list as any of its elements', () => {
    const matches = compileFilterPattern({ tag: ['cpu', 'gpu'] });

    expect(matches({ tag: 'gpu' })).toBe(true);
    expect(matches({ tag: ['fpga', 'cpu'] })).toBe(true);
    expect(matches({ tag: ['fpga'] })).toBe(false);
    expect(matches({ tag: 'CPU' })).toBe(false);
  });

  it('compares numbers numerically and never a number with its string', () => {
    const matches = compileFilterPattern({ rank: [5] });

    expect(matches({ rank: 5.0 })).toBe(true);
    expect(matches({ rank: '5' })).toBe(false);
  });

  it('matches null and the empty string exactly', () => {
    expect(compileFilterPattern({ owner: [null] })({ owner: null })).toBe(true);
    expect(compileFilterPattern({ owner: [null] })({})).toBe(false);
    expect(compileFilterPattern({ owner: [''] })({ owner: '' })).toBe(true);
    expect(compileFilterPattern({ owner: [''] })({ owner: null })).toBe(false);
  });

  it('supports prefix, suffix and equals-ignore-case on strings only', () => {
    const prefix = compileFilterPattern({ name: [{ prefix: 'run42-' }] });
    const suffix = compileFilterPattern({ name: [{ suffix: '.root' }] });
    const ignoreCase = compileFilterPattern({ device: [{ 'equals-ignore-case': 'gpu' }] });

    expect(prefix({ name: 'run42-0001' })).toBe(true);
    expect(prefix({ name: 'run43-0001' })).toBe(false);
    expect(prefix({ name: 42 })).toBe(false);
    expect(suffix({ name: 'a.root' })).toBe(true);
    expect(suffix({ name: 'a.root.gz' })).toBe(false);
    expect(ignoreCase({ device: 'GPU' })).toBe(true);
    expect(ignoreCase({ device: 'CPU' })).toBe(false);
  });

  it('anything-but needs the field and excludes a value, a list or a prefix', () => {
    const single = compileFilterPattern({ state: [{ 'anything-but': 'DONE' }] });
    const several = compileFilterPattern({ state: [{ 'anything-but': ['DONE', 'FAILED'] }] });
    const byPrefix = compileFilterPattern({ state: [{ 'anything-but': { prefix: 'CANCEL' } }] });

    expect(single({ state: 'READY' })).toBe(true);
    expect(single({ state: 'DONE' })).toBe(false);
    expect(single({})).toBe(false);
    expect(several({ state: 'FAILED' })).toBe(false);
    expect(several({ state: 'RUNNING' })).toBe(true);
    expect(byPrefix({ state: 'CANCELLED' })).toBe(false);
    expect(byPrefix({ state: 'QUEUED' })).toBe(true);
  });

  it('exists looks at leaves: a present scalar or non-empty list exists, an object does not', () => {
    const exists = compileFilterPattern({ pilot: [{ exists: true }] });
    const absent = compileFilterPattern({ pilot: [{ exists: false }] });

    expect(exists({ pilot: 'p-1' })).toBe(true);
    expect(exists({ pilot: null })).toBe(true);
    expect(exists({ pilot: [] })).toBe(false);
    expect(exists({})).toBe(false);
    expect(exists({ pilot: { S: 'p-1' } })).toBe(false);
    expect(absent({})).toBe(true);
    expect(absent({ pilot: 'p-1' })).toBe(false);
  });

  it('numeric ranges apply to JSON numbers only', () => {
    const matches = compileFilterPattern({ attempt: [{ numeric: ['>', 0, '<=', 3] }] });
    const equal = compileFilterPattern({ attempt: [{ numeric: ['=', 2] }] });

    expect(matches({ attempt: 1 })).toBe(true);
    expect(matches({ attempt: 3 })).toBe(true);
    expect(matches({ attempt: 0 })).toBe(false);
    expect(matches({ attempt: 4 })).toBe(false);
    expect(matches({ attempt: '2' })).toBe(false);
    expect(equal({ attempt: 2 })).toBe(true);
    expect(equal({ attempt: 2.5 })).toBe(false);
  });

  it('$or matches when any branch does', () => {
    const matches = compileFilterPattern({ $or: [{ state: ['READY'] }, { retried: [true] }] });

    expect(matches({ state: 'READY' })).toBe(true);
    expect(matches({ state: 'DONE', retried: true })).toBe(true);
    expect(matches({ state: 'DONE', retried: false })).toBe(false);
  });

  it.each([
    ['not JSON', '{eventName:'],
    ['a bare value for a field', '{"eventName":"INSERT"}'],
    ['an unsupported operator', '{"ip":[{"cidr":"10.0.0.0/24"}]}'],
    ['a wildcard', '{"name":[{"wildcard":"run*"}]}'],
    ['an operator object with two keys', '{"name":[{"prefix":"a","suffix":"b"}]}'],
    ['a bad numeric operator', '{"n":[{"numeric":["!=",1]}]}'],
    ['a non-numeric bound', '{"n":[{"numeric":[">","1"]}]}'],
    ['exists with a non-boolean', '{"n":[{"exists":"yes"}]}'],
    ['$or with one branch', '{"$or":[{"a":["b"]}]}'],
    ['a pattern that is not an object', '["INSERT"]'],
  ])('refuses %s', (_label, pattern) => {
    expect(() => compileFilterPattern(pattern)).toThrow(FilterPatternError);
  });
});

describe('compileFilterCriteria', () => {
  it('passes a record any pattern matches, and every record when there are no patterns', () => {
    const criteria = compileFilterCriteria(['{"eventName":["INSERT"]}', '{"eventName":["REMOVE"]}']);

    expect(criteria({ eventName: 'REMOVE' })).toBe(true);
    expect(criteria({ eventName: 'MODIFY' })).toBe(false);
    expect(compileFilterCriteria([])({ anything: 1 })).toBe(true);
  });
});
