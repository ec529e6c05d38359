import { beforeAll, describe, expect, it } from 'vitest';
import {
  pilotRegistration,
  type RepositoryFixture,
  repositoryFixture,
  steppingClock,
} from '../../test/support/index.js';
import {
  ConditionFailedError,
  InvalidTransitionError,
  NotFoundError,
  StateConflictError,
  ValidationError,
} from '../errors/index.js';
import { createRepositories } from './index.js';

let fixture: RepositoryFixture;

beforeAll(async () => {
  fixture = await repositoryFixture('pilots');
});

describe('PilotsRepo', () => {
  it('registers a pilot ACTIVE and records its heartbeats, ignoring one that arrives late', async () => {
    // Prepare
    const pilots = createRepositories({
      doc: fixture.clients.doc,
      tables: fixture.tables,
      clock: () => new Date('2026-11-21T10:00:00.000Z'),
    }).pilots;
    const registered = await pilots.register(pilotRegistration('pilot-hb', { slots: 4 }));

    // Act
    const beat = await pilots.heartbeat({
      pilotId: 'pilot-hb',
      busySlots: 3,
      at: '2026-11-21T10:00:30.000Z',
    });
    const idle = await pilots.heartbeat({
      pilotId: 'pilot-hb',
      busySlots: 0,
      state: 'IDLE',
      at: '2026-11-21T10:01:00.000Z',
    });
    const late = await pilots.heartbeat({
      pilotId: 'pilot-hb',
      busySlots: 4,
      at: '2026-11-21T10:00:45.000Z',
    });

    // Assess
    expect(registered).toMatchObject({
      state: 'ACTIVE',
      busySlots: 0,
      lastHeartbeatAt: '2026-11-21T10:00:00.000Z',
    });
    expect(beat).toMatchObject({ applied: true, pilot: { state: 'ACTIVE', busySlots: 3 } });
    expect(idle).toMatchObject({ applied: true, pilot: { state: 'IDLE', busySlots: 0 } });
    expect(late).toEqual({ applied: false, pilot: idle.pilot });
    expect(await pilots.get('pilot-hb')).toEqual(idle.pilot);
  });

  it('refuses heartbeats and re-registration once the pilot is LOST, and lets it report its exit', async () => {
    // Prepare
    await fixture.repos.pilots.register(pilotRegistration('pilot-lost'));
    const future = new Date(Date.now() + 60_000).toISOString();
    await fixture.repos.pilots.transition({
      pilotId: 'pilot-lost',
      from: 'ACTIVE',
      to: 'LOST',
      heartbeatBefore: future,
    });

    // Act & assess
    await expect(
      fixture.repos.pilots.heartbeat({ pilotId: 'pilot-lost', busySlots: 1, at: future }),
    ).rejects.toThrow(StateConflictError);
    await expect(fixture.repos.pilots.register(pilotRegistration('pilot-lost'))).rejects.toThrow(
      StateConflictError,
    );
    expect((await fixture.repos.pilots.get('pilot-lost')).state).toBe('LOST');
    const exited = await fixture.repos.pilots.transition({
      pilotId: 'pilot-lost',
      from: 'LOST',
      to: 'EXITED',
    });
    expect(exited.pilot.state).toBe('EXITED');
    await expect(
      fixture.repos.pilots.heartbeat({ pilotId: 'pilot-lost', busySlots: 0, at: future }),
    ).rejects.toThrow(StateConflictError);
  });

  it('declares a pilot LOST only while its heartbeat is stale', async () => {
    await fixture.repos.pilots.register(pilotRegistration('pilot-fresh'));
    const past = new Date(Date.now() - 60_000).toISOString();

    await expect(
      fixture.repos.pilots.transition({
        pilotId: 'pilot-fresh',
        from: 'ACTIVE',
        to: 'LOST',
        heartbeatBefore: past,
      }),
    ).rejects.toThrow(ConditionFailedError);
    expect((await fixture.repos.pilots.get('pilot-fresh')).state).toBe('ACTIVE');
    await expect(
      fixture.repos.pilots.transition({ pilotId: 'pilot-fresh', from: 'EXITED', to: 'ACTIVE' }),
    ).rejects.toThrow(InvalidTransitionError);
    await expect(
      fixture.repos.pilots.transition({ pilotId: 'pilot-none', from: 'ACTIVE', to: 'IDLE' }),
    ).rejects.toThrow(NotFoundError);
    await expect(
      fixture.repos.pilots.heartbeat({ pilotId: 'pilot-none', busySlots: 0, at: past }),
    ).rejects.toThrow(NotFoundError);
  });

  it('lists the pilots of a state whose heartbeat stopped', async () => {
    // Prepare: own tables, so other tests' pilots do not appear.
    const own = await repositoryFixture('pilots-list');
    const pilots = createRepositories({
      doc: own.clients.doc,
      tables: own.tables,
      clock: steppingClock('2026-11-21T10:01:00.000Z', 60_000),
    }).pilots;
    for (const id of ['p-1', 'p-2', 'p-3']) await pilots.register(pilotRegistration(id));

    // Act
    const silent = await pilots.listByState('ACTIVE', { heartbeatBefore: '2026-11-21T10:02:30.000Z' });
    const all = await pilots.listByState('ACTIVE');

    // Assess
    expect(silent.items.map((pilot) => pilot.pilotId)).toEqual(['p-1', 'p-2']);
    expect(all.items.map((pilot) => pilot.pilotId)).toEqual(['p-1', 'p-2', 'p-3']);
  });

  it('refuses an invalid registration', async () => {
    await expect(fixture.repos.pilots.register(pilotRegistration('pilot-bad', { slots: 0 }))).rejects.toThrow(
      ValidationError,
    );
  });
});
