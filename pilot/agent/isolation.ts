import { execFile } from 'node:child_process';
import { chmod, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { ConfigError } from '../../shared/errors/index.js';
import type { DegradedCapability } from '../../shared/model/index.js';
import { type CgroupPreference, type CgroupSupport, detectCgroups } from './cgroups.js';
import type { PayloadIdentity } from './payload.js';

const run = promisify(execFile);

/** How payloads are kept apart from the pilot, the node and each other on this node. */
export interface PayloadIsolation {
  /** The user of each slot's payloads, by slot index; null: the pilot's own user. */
  identities: readonly (PayloadIdentity | null)[];
  cgroups: CgroupSupport;
  degraded: DegradedCapability[];
  /** Why, one line per degraded capability, for the pilot's warning. */
  warnings: string[];
}

/** A user's ids from the node's user database (files, LDAP, …: whatever NSS is set up with). */
export async function lookupUser(user: string): Promise<PayloadIdentity> {
  let line: string;
  try {
    line = (await run('getent', ['passwd', user])).stdout.trim();
  } catch {
    throw new ConfigError('payloadUser', `user ${JSON.stringify(user)} does not exist on this node`);
  }
  const [, , uid, gid] = line.split(':');
  return { user, uid: Number(uid), gid: Number(gid) };
}

/**
 * The first directory on the way to `dir` a user who is neither its owner nor in its group
 * cannot pass (no search permission for others), or null when the whole way is open.
 */
async function closedAncestor(dir: string, identity: PayloadIdentity): Promise<string | null> {
  for (let current = path.dirname(dir); ; current = path.dirname(current)) {
    const stats = await stat(current);
    const bit = stats.uid === identity.uid ? 0o100 : stats.gid === identity.gid ? 0o010 : 0o001;
    if ((stats.mode & bit) === 0) return current;
    if (current === path.dirname(current)) return null;
  }
}

export interface IsolationSettings {
  payloadUser?: string | readonly string[] | undefined;
  allowSameUserPayloads: boolean;
  cgroups: CgroupPreference;
  workDir: string;
}

/**
 * Decides how this pilot isolates its payloads, or refuses to start (a ConfigError saying why):
 * payloads run as `payloadUser` (one user for all slots, or one per slot) unless the operator
 * allowed them to run as the pilot itself; each in its own cgroup where any hierarchy works.
 * The work directory becomes the pilot's, searchable but not listable by the payloads.
 */
export async function setUpIsolation(settings: IsolationSettings, slots: number): Promise<PayloadIsolation> {
  const degraded: DegradedCapability[] = [];
  const warnings: string[] = [];
  const pilotUid = process.getuid?.() ?? -1;
  // Payloads reach their own job directory only: they may pass through, not list.
  await chmod(settings.workDir, 0o711);
  let identities: (PayloadIdentity | null)[];
  if (settings.payloadUser === undefined) {
    if (!settings.allowSameUserPayloads) {
      throw new ConfigError(
        'payloadUser',
        `payloads would run as the pilot's own user (uid ${pilotUid}) and could read its credentials, ` +
          'its /proc entries and its files: set "payloadUser" to an unprivileged user of its own, or ' +
          '"allowSameUserPayloads": true to run them as the pilot anyway',
      );
    }
    degraded.push('same-user-payloads');
    warnings.push(
      'payloads run as the pilot\'s own user ("allowSameUserPayloads"): they can read its credentials',
    );
    identities = Array.from({ length: slots }, () => null);
  } else {
    const users = typeof settings.payloadUser === 'string' ? [settings.payloadUser] : settings.payloadUser;
    if (users.length > 1 && users.length < slots) {
      throw new ConfigError(
        'payloadUser',
        `${users.length} payload users for ${slots} slots: give one per slot`,
      );
    }
    const known = await Promise.all(users.map(lookupUser));
    for (const identity of known) {
      if (identity.uid === pilotUid || identity.uid === 0) {
        throw new ConfigError(
          'payloadUser',
          `payload user ${identity.user} (uid ${identity.uid}) must be neither root nor the pilot's own user`,
        );
      }
      const closed = await closedAncestor(path.join(path.resolve(settings.workDir), 'job'), identity);
      if (closed !== null) {
        throw new ConfigError(
          'workDir',
          `payload user ${identity.user} cannot reach the work directory: ${closed} is not searchable for it`,
        );
      }
    }
    // Only root: a pilot of another user given CAP_SETUID would keep its capabilities through
    // the switch to the payload's user and hand them on (ambient set) to the payload.
    if (pilotUid !== 0) {
      throw new ConfigError(
        'payloadUser',
        `the pilot runs as uid ${pilotUid} and cannot run payloads as ${users.join(', ')}: it must run ` +
          'as root, which it gives up for each payload (setgroups, setgid, setuid before exec)',
      );
    }
    identities = Array.from({ length: slots }, (_, index) => known[known.length === 1 ? 0 : index]!);
  }
  const cgroups = await detectCgroups(settings.cgroups);
  if (cgroups.tracking === null) {
    degraded.push('no-cgroups');
    warnings.push(
      `no cgroup can be used (${cgroups.problems.join('; ')}): payloads are tracked by process group ` +
        "only, and a payload's process that leaves its group (setsid) survives its kill",
    );
  }
  if (cgroups.memory === null) {
    degraded.push('no-memory-limit');
    warnings.push(`no memory controller (${cgroups.problems.join('; ')}): payload memory is not limited`);
  }
  return { identities, cgroups, degraded, warnings };
}
