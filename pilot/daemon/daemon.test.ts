import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DaemonConfig, nextShortRuns, restartDelayMs } from './daemon.js';
import { manifestKey, manifestRefusal, ReleaseManifest, releaseKey, signManifest } from './release.js';

describe('restart backoff', () => {
  const backoff = { initialSeconds: 1, maxSeconds: 300 };

  it('restarts at once after a healthy run and backs off exponentially after short ones', () => {
    expect([0, 1, 2, 3, 4, 10, 20].map((shortRuns) => restartDelayMs(shortRuns, backoff))).toEqual([
      0, 1_000, 2_000, 4_000, 8_000, 300_000, 300_000,
    ]);
  });

  it('counts consecutive short runs and resets after a healthy one', () => {
    const runs = [5_000, 1_000, 2_000, 60_000, 100];
    const counts: number[] = [];
    let shortRuns = 0;
    for (const runMs of runs) {
      shortRuns = nextShortRuns(shortRuns, runMs, 60);
      counts.push(shortRuns);
    }
    expect(counts).toEqual([1, 2, 3, 0, 1]);
  });
});

describe('release manifest', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const unsigned = {
    version: '0.1.0-20260102T030405Z',
    key: 'pilot/releases/0.1.0-20260102T030405Z.mjs',
    sha256: 'a'.repeat(64),
    publishedAt: '2026-01-02T03:04:05.000Z',
    previous: '0.0.9',
  };
  const manifest = signManifest(unsigned, privateKey);

  it('names the release and manifest keys under the prefix', () => {
    expect(releaseKey('pilot/releases', manifest.version)).toBe(manifest.key);
    expect(manifestKey('pilot/releases')).toBe('pilot/releases/manifest.json');
  });

  it('accepts a well-formed manifest and refuses a version that is not a plain file name', () => {
    expect(ReleaseManifest.parse(manifest)).toEqual(manifest);
    for (const version of ['../evil', 'a/b', '', '.hidden']) {
      expect(ReleaseManifest.safeParse({ ...manifest, version }).success).toBe(false);
    }
    expect(ReleaseManifest.safeParse({ ...manifest, sha256: 'A'.repeat(64) }).success).toBe(false);
  });

  it('accepts a manifest signed with the pinned key', () => {
    expect(manifestRefusal(manifest, publicKey, null)).toEqual({ manifest });
  });

  it('refuses an unsigned manifest, another key and any field changed after signing', () => {
    const other = generateKeyPairSync('ed25519');
    const { signature: _, ...withoutSignature } = manifest;

    expect(manifestRefusal(withoutSignature, publicKey, null).refusal).toBe(
      'the release manifest is not signed',
    );
    expect(manifestRefusal(signManifest(unsigned, other.privateKey), publicKey, null).refusal).toMatch(
      /does not verify with the pinned public key/,
    );
    fc.assert(
      fc.property(
        fc.constantFrom('version', 'key', 'sha256', 'publishedAt', 'previous'),
        fc.constantFrom('1.0.0', 'pilot/releases/1.0.0.mjs', 'b'.repeat(64), '2026-01-02T03:04:06.000Z'),
        (field, value) => {
          fc.pre(manifest[field as keyof typeof manifest] !== value);
          const tampered = { ...manifest, [field]: value };
          expect(manifestRefusal(tampered, publicKey, null).refusal).toBeDefined();
        },
      ),
    );
    expect(manifestRefusal({ ...manifest, previous: undefined }, publicKey, null).refusal).toBeDefined();
  });

  it('refuses a manifest signed before the last good release, and takes a rollback signed after it', () => {
    const running = { version: '0.2.0', publishedAt: '2026-01-03T00:00:00.000Z' };
    const rollback = signManifest({ ...unsigned, publishedAt: '2026-01-04T00:00:00.000Z' }, privateKey);

    expect(manifestRefusal(manifest, publicKey, running).refusal).toContain(
      'before the last good release 0.2.0 (2026-01-03T00:00:00.000Z)',
    );
    expect(manifestRefusal(rollback, publicKey, running)).toEqual({ manifest: rollback });
    expect(manifestRefusal(manifest, publicKey, { version: 'old' })).toEqual({ manifest });
  });
});

describe('daemon configuration', () => {
  it('requires the release public key', () => {
    const config = { bucket: 'spd-wms-artifacts', cacheDir: '/var/cache/x', pilotConfig: '/etc/p.json' };

    const parsed = DaemonConfig.safeParse(config);

    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]).toMatchObject({
      path: ['releasePublicKey'],
      message: 'required: the PEM file of the release signing public key',
    });
    expect(DaemonConfig.safeParse({ ...config, releasePublicKey: '/etc/k.pem' }).success).toBe(true);
  });
});
