import { describe, expect, it } from 'vitest';
import { nextShortRuns, restartDelayMs } from './daemon.js';
import { manifestKey, ReleaseManifest, releaseKey } from './release.js';

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
  const manifest = {
    version: '0.1.0-20260102T030405Z',
    key: 'pilot/releases/0.1.0-20260102T030405Z.mjs',
    sha256: 'a'.repeat(64),
    publishedAt: '2026-01-02T03:04:05.000Z',
  };

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
});
