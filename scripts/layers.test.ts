import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
const CONFIG = join(PROJECT_ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = join(PROJECT_ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruiser.mjs');

/** Lays `files` out in a fresh directory shaped like the project and runs the layer rules on it. */
function cruise(files: Record<string, string>): { status: number | null; output: string } {
  const root = mkdtempSync(join(tmpdir(), 'spd-wms-layers-'));
  roots.push(root);
  writeFileSync(join(root, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'nodenext' } }));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  const run = spawnSync(
    process.execPath,
    [
      DEPCRUISE,
      '--config',
      CONFIG,
      '--output-type',
      'err',
      ...new Set(Object.keys(files).map((p) => p.split('/')[0]!)),
    ],
    { cwd: root, encoding: 'utf8' },
  );
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

describe('the layer rules of .dependency-cruiser.cjs', () => {
  it('pass imports that point down the layers', () => {
    const { status, output } = cruise({
      'shared/model/index.ts': 'export const STATES = 1;\n',
      'shared/services/index.ts': "import { STATES } from '../model/index.js';\nexport const N = STATES;\n",
      'functions/status/index.ts':
        "import { N } from '../../shared/services/index.js';\nexport const M = N;\n",
      'infra/local/runtime.ts': "import { M } from '../../functions/status/index.js';\nexport const R = M;\n",
    });

    expect(output).toContain('no dependency violations');
    expect(status).toBe(0);
  });

  it('fail a domain-core module that imports a service', () => {
    const { status, output } = cruise({
      'shared/model/index.ts': "import { N } from '../services/index.js';\nexport const STATES = N;\n",
      'shared/services/index.ts': 'export const N = 1;\n',
    });

    expect(output).toContain('core-imports-only-core: shared/model/index.ts → shared/services/index.ts');
    expect(status).not.toBe(0);
  });

  it('fail a function that imports the embedded runtime, and a service that imports a function', () => {
    const { status, output } = cruise({
      'functions/api/index.ts': "import { R } from '../../infra/local/runtime.js';\nexport const A = R;\n",
      'infra/local/runtime.ts': 'export const R = 1;\n',
      'shared/services/index.ts': "import { A } from '../../functions/api/index.js';\nexport const N = A;\n",
    });

    expect(output).toContain(
      'functions-import-no-pilot-or-infra: functions/api/index.ts → infra/local/runtime.ts',
    );
    expect(output).toContain(
      'only-its-users-know-the-embedded-runtime: functions/api/index.ts → infra/local/runtime.ts',
    );
    expect(output).toContain('adapters-import-no-top: shared/services/index.ts → functions/api/index.ts');
    expect(status).not.toBe(0);
  });

  it('pass imports of a unit through its index, and between files of one unit', () => {
    const { status, output } = cruise({
      'shared/model/index.ts': "export { STATES } from './states.js';\n",
      'shared/model/states.ts': 'export const STATES = 1;\n',
      'shared/services/index.ts': "import { STATES } from '../model/index.js';\nexport const N = STATES;\n",
      'functions/status/index.ts':
        "import { N } from '../../shared/services/index.js';\nexport const M = N;\n",
    });

    expect(output).toContain('no dependency violations');
    expect(status).toBe(0);
  });

  it("fail an import of a unit's file other than its index, from another unit and from outside the units", () => {
    const { status, output } = cruise({
      'shared/model/index.ts': "export { STATES } from './states.js';\n",
      'shared/model/states.ts': 'export const STATES = 1;\n',
      'shared/services/index.ts': "import { STATES } from '../model/states.js';\nexport const N = STATES;\n",
      'functions/status/index.ts':
        "import { STATES } from '../../shared/model/states.js';\nexport const M = STATES;\n",
    });

    expect(output).toContain(
      'units-import-each-other-through-their-index: shared/services/index.ts → shared/model/states.ts',
    );
    expect(output).toContain(
      'import-units-through-their-index: functions/status/index.ts → shared/model/states.ts',
    );
    expect(status).not.toBe(0);
  });

  it("fail a test elsewhere, or the bench, that imports past the embedded runtime's entry, and only those", () => {
    const { status, output } = cruise({
      'infra/local/runtime.ts': 'export const R = 1;\n',
      'infra/local/index.ts': "export { R } from './runtime.js';\n",
      'infra/local/runtime.test.ts': "import { R } from './runtime.js';\nexport const T = R;\n",
      'infra/local/bench/run.ts': "import { R } from '../runtime.js';\nexport const B = R;\n",
      'infra/local/bench/report.ts': "import { R } from '../index.js';\nexport const B = R;\n",
      'functions/status/handler.int.test.ts':
        "import { R } from '../../infra/local/runtime.js';\nexport const T = R;\n",
      'functions/status/other.int.test.ts':
        "import { R } from '../../infra/local/index.js';\nexport const T = R;\n",
    });

    const violations = output
      .split('\n')
      .filter((line) => line.includes('embedded-runtime-only-through-its-entry'));
    expect(violations).toHaveLength(2);
    expect(output).toContain(
      'embedded-runtime-only-through-its-entry: functions/status/handler.int.test.ts → infra/local/runtime.ts',
    );
    expect(output).toContain(
      'embedded-runtime-only-through-its-entry: infra/local/bench/run.ts → infra/local/runtime.ts',
    );
    expect(status).not.toBe(0);
  });
});
