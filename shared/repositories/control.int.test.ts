import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type RepositoryFixture, repositoryFixture } from '../../test/support/index.js';
import { ConditionFailedError, CorruptItemError } from '../errors/index.js';

let fixture: RepositoryFixture;

beforeAll(async () => {
  fixture = await repositoryFixture('control');
});

describe('ControlRepo', () => {
  const SchedulerState = z.object({ round: z.number().int(), cursor: z.string() });

  it('stores a value under optimistic concurrency: of two writers of one version, one wins', async () => {
    // Prepare
    const version = await fixture.repos.control.put('dispatcher', { round: 1, cursor: 't-a' }, undefined);

    // Act
    const outcomes = await Promise.allSettled([
      fixture.repos.control.put('dispatcher', { round: 2, cursor: 't-b' }, version),
      fixture.repos.control.put('dispatcher', { round: 2, cursor: 't-c' }, version),
    ]);

    // Assess
    expect(version).toBe(1);
    expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['fulfilled', 'rejected']);
    const stored = await fixture.repos.control.get('dispatcher', SchedulerState);
    expect(stored?.version).toBe(2);
    expect(['t-b', 't-c']).toContain(stored?.value.cursor);
    await expect(
      fixture.repos.control.put('dispatcher', { round: 3, cursor: 'x' }, undefined),
    ).rejects.toThrow(ConditionFailedError);
  });

  it('returns nothing for an unwritten key and refuses a stored value its schema rejects', async () => {
    expect(await fixture.repos.control.get('never', SchedulerState)).toBeUndefined();
    await fixture.repos.control.put('malformed', { round: 'one' }, undefined);
    await expect(fixture.repos.control.get('malformed', SchedulerState)).rejects.toThrow(CorruptItemError);
  });
});
