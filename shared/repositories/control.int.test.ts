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

  it('lends the item to one owner at a time until it gives it up or it expires', async () => {
    // Prepare
    await fixture.repos.control.put('leased', { round: 1, cursor: 't-a' }, undefined);
    const lease = (owner: string, ttlMs = 60_000) =>
      fixture.repos.control.lease('leased', SchedulerState, { owner, ttlMs });

    // Act
    const contenders = await Promise.all(['a', 'b', 'c'].map((owner) => lease(owner)));
    const winner = ['a', 'b', 'c'][contenders.findIndex((outcome) => outcome.taken)] ?? 'none';
    const again = await lease(winner);
    const loser = winner === 'a' ? 'b' : 'a';
    const notTheOwner = fixture.repos.control.put('leased', { round: 2, cursor: 'x' }, 1, {
      leaseOwner: loser,
    });
    await expect(notTheOwner).rejects.toThrow(ConditionFailedError);
    const saved = await fixture.repos.control.put('leased', { round: 2, cursor: 't-b' }, 1, {
      leaseOwner: winner,
    });
    const afterSave = await lease(loser, -1);
    const takenOverExpired = await lease('d');
    const releasedByOther = await fixture.repos.control.release('leased', loser);
    const releasedByOwner = await fixture.repos.control.release('leased', 'd');
    const neverWritten = await fixture.repos.control.lease('fresh', SchedulerState, {
      owner: 'a',
      ttlMs: 1000,
    });

    // Assess
    expect(contenders.filter((outcome) => outcome.taken)).toHaveLength(1);
    expect(contenders.find((outcome) => !outcome.taken)).toMatchObject({ heldBy: { owner: winner } });
    expect(again).toMatchObject({ taken: true, stored: { version: 1, value: { cursor: 't-a' } } });
    expect(saved).toBe(2);
    expect(afterSave).toMatchObject({ taken: true, stored: { version: 2, value: { cursor: 't-b' } } });
    expect(takenOverExpired).toMatchObject({ taken: true, stored: { version: 2 } });
    expect([releasedByOther, releasedByOwner]).toEqual([false, true]);
    expect(neverWritten).toEqual({ taken: true, stored: undefined });
    expect(await fixture.repos.control.get('fresh', SchedulerState)).toBeUndefined();
    expect(await fixture.repos.control.put('fresh', { round: 1, cursor: 'y' }, undefined)).toBe(1);
  });
});
