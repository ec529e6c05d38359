import { describe, expect, it } from 'vitest';
import { SCHEMA_CATALOG } from './catalog.js';
import { INVALID_CORPUS } from './invalid-corpus.js';
import { formatIssues } from './validation.js';

describe('invalid corpus', () => {
  it('holds at least 60 payloads and covers every catalog entry', () => {
    // Act
    const covered = new Set(INVALID_CORPUS.map((entry) => entry.schema));

    // Assess
    expect(INVALID_CORPUS.length).toBeGreaterThanOrEqual(60);
    expect([...covered].sort()).toEqual(Object.keys(SCHEMA_CATALOG).sort());
  });

  it.each(INVALID_CORPUS.map((entry) => [`${entry.schema}: ${entry.description}`, entry] as const))(
    '%s is refused at its field alone',
    (_, { schema, payload, path }) => {
      // Act
      const result = SCHEMA_CATALOG[schema].schema.safeParse(payload);

      // Assess
      expect(result.success).toBe(false);
      expect(new Set(formatIssues(result.error!).map((issue) => issue.path))).toEqual(new Set([path]));
    },
  );
});
