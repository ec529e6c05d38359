import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ValidationError } from '../shared/errors/index.js';
import { formatIssues, formatPath, parseOrThrow } from './validation.js';

describe('formatPath', () => {
  it('writes indices in brackets and names after dots', () => {
    // Assess
    expect(formatPath(['inputs', 0, 'name'])).toBe('inputs[0].name');
    expect(formatPath([2, 'location', 'key'])).toBe('[2].location.key');
  });

  it('quotes names that are not identifiers', () => {
    // Assess
    expect(formatPath(['body', 'detail-type'])).toBe('body["detail-type"]');
    expect(formatPath(['counts', 'a b'])).toBe('counts["a b"]');
  });

  it('calls the empty path the root', () => {
    // Assess
    expect(formatPath([])).toBe('(root)');
  });
});

describe('formatIssues', () => {
  const Job = z
    .object({ inputs: z.array(z.object({ name: z.string().min(1) }).strict()), rank: z.number() })
    .strict();

  it('gives one path and message per issue', () => {
    // Act
    const issues = formatIssues(
      Job.safeParse({ inputs: [{ name: 'a' }, { name: '' }], rank: 'high' }).error!,
    );

    // Assess
    expect(issues.map((issue) => issue.path)).toEqual(['inputs[1].name', 'rank']);
    expect(issues[1]!.message).toMatch(/expected number/);
  });

  it('reports each unknown field at its own path', () => {
    // Act
    const issues = formatIssues(
      Job.safeParse({ inputs: [{ name: 'a', size: 1 }], rank: 1, owner: 'x' }).error!,
    );

    // Assess
    expect(issues).toEqual([
      { path: 'inputs[0].size', message: 'unknown field' },
      { path: 'owner', message: 'unknown field' },
    ]);
  });

  it('reports a wrong top-level type at the root', () => {
    // Act
    const issues = formatIssues(Job.safeParse('job').error!);

    // Assess
    expect(issues.map((issue) => issue.path)).toEqual(['(root)']);
  });
});

describe('parseOrThrow', () => {
  const Cancel = z.object({ taskId: z.string().min(1), reason: z.string().default('operator') }).strict();

  it('returns the parsed value, defaults applied', () => {
    // Act
    const parsed = parseOrThrow(Cancel, { taskId: 't-1' }, 'cancel request');

    // Assess
    expect(parsed).toEqual({ taskId: 't-1', reason: 'operator' });
  });

  it('throws a ValidationError naming what and every bad field, keeping the zod error as cause', () => {
    // Act
    const error = (() => {
      try {
        parseOrThrow(Cancel, { taskId: '', extra: true }, 'cancel request');
      } catch (caught) {
        return caught;
      }
    })();

    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    const validation = error as ValidationError;
    expect(validation.name).toBe('ValidationError');
    expect(validation.issues.map((issue) => issue.path)).toEqual(['taskId', 'extra']);
    expect(validation.message).toMatch(/^invalid cancel request: taskId: .+; extra: unknown field$/);
    expect(validation.cause).toBeInstanceOf(z.ZodError);
  });
});
