import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { type CgroupPreference, detectCgroups } from '../agent/cgroups.js';
import { lookupUser, type PayloadIsolation, setUpIsolation } from '../agent/isolation.js';
import type { PayloadIdentity } from '../agent/payload.js';

const run = promisify(execFile);

/** Unprivileged users the tests run payloads as: one per slot, as a site would set them up. */
export const TEST_PAYLOAD_USERS = ['spd-wms-test-slot0', 'spd-wms-test-slot1'] as const;

/**
 * The user `name`, made (a system user with its own group, no home, no login shell) if the node
 * has none. Idempotent, and safe when a parallel run makes it at the same moment.
 */
export async function ensurePayloadUser(name: string): Promise<PayloadIdentity> {
  try {
    return await lookupUser(name);
  } catch {
    try {
      await run('useradd', [
        '--system',
        '--user-group',
        '--no-create-home',
        '--shell',
        '/usr/sbin/nologin',
        name,
      ]);
    } catch (error) {
      // 9: the user exists (made meanwhile by a parallel run).
      if ((error as { code?: number }).code !== 9) throw error;
    }
    return lookupUser(name);
  }
}

/** The test payload users, made if missing. */
export async function ensureTestPayloadUsers(): Promise<PayloadIdentity[]> {
  return Promise.all(TEST_PAYLOAD_USERS.map(ensurePayloadUser));
}

/** Payloads in cgroups as the pilot sets them up, each slot as its own test user. */
export async function isolatedPayloads(
  workDir: string,
  slots: number,
  cgroups: CgroupPreference = 'auto',
): Promise<PayloadIsolation> {
  await ensureTestPayloadUsers();
  return setUpIsolation(
    {
      payloadUser: TEST_PAYLOAD_USERS.slice(0, Math.max(2, slots)),
      allowSameUserPayloads: false,
      cgroups,
      workDir,
    },
    slots,
  );
}

/** Payloads as the pilot's own user (no user of their own), still in cgroups. */
export async function sameUserPayloads(slots: number): Promise<PayloadIsolation> {
  return {
    identities: Array.from({ length: slots }, () => null),
    cgroups: await detectCgroups(),
    degraded: ['same-user-payloads'],
    warnings: [],
  };
}
