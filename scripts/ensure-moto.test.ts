import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
const SCRIPT_FILES = [
  'scripts/ensure-moto.sh',
  'infra/local/moto/requirements.txt',
  'infra/local/moto/version-probe/sitecustomize.py',
];
const PINNED = /^moto\[server\]==(\S+)$/m.exec(
  readFileSync(join(PROJECT_ROOT, 'infra/local/moto/requirements.txt'), 'utf8'),
)?.[1];

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

/**
 * Runs scripts/ensure-moto.sh in a copy of the project without a venv, where installing fails
 * (the `python3` on PATH cannot make a venv, so no package index is asked) and `moto_server` on
 * PATH is the given shell script, or absent.
 */
function ensureMoto(motoServer: string | undefined): { status: number | null; stderr: string } {
  const root = mkdtempSync(join(tmpdir(), 'spd-wms-ensure-moto-'));
  roots.push(root);
  for (const file of SCRIPT_FILES) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    copyFileSync(join(PROJECT_ROOT, file), join(root, file));
  }
  const bin = join(root, 'bin');
  mkdirSync(bin);
  const executable = (name: string, text: string) => {
    writeFileSync(join(bin, name), `#!/bin/sh\n${text}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  executable('python3', 'exit 1');
  if (motoServer !== undefined) executable('moto_server', motoServer);
  const run = spawnSync('bash', [join(root, 'scripts/ensure-moto.sh')], {
    encoding: 'utf8',
    env: { PATH: `${bin}:/usr/bin:/bin` },
  });
  return { status: run.status, stderr: run.stderr };
}

describe('scripts/ensure-moto.sh, when the pinned moto cannot be installed', () => {
  it('uses a moto_server on PATH that runs the pinned moto', () => {
    // Act
    const { status, stderr } = ensureMoto(`echo "moto ${PINNED}"`);

    // Assess
    expect(status).toBe(0);
    expect(stderr).toContain(`could not install moto[server]==${PINNED}`);
    expect(stderr).toContain(`(moto ${PINNED}, the pinned version)`);
  });

  it('uses one that runs another moto only with the speed patches off, and says so', () => {
    // Act
    const { status, stderr } = ensureMoto('echo "moto 5.1.9"');

    // Assess
    expect(status).toBe(0);
    expect(stderr).toContain(`runs moto 5.1.9, not the pinned ${PINNED}`);
    expect(stderr).toContain('correctness patches only (speed patches off, slower)');
  });

  it('refuses one that does not say which moto it runs', () => {
    // Act: a server whose Python does not load the version probe prints its usage instead
    const { status, stderr } = ensureMoto('echo "usage: moto_server [-h] [-H HOST] [-p PORT]"');

    // Assess
    expect(status).toBe(1);
    expect(stderr).toContain('does not say which moto it runs');
  });

  it('fails when there is none', () => {
    // Act
    const { status, stderr } = ensureMoto(undefined);

    // Assess
    expect(status).toBe(1);
    expect(stderr).toContain('no moto_server is on PATH');
  });
});
