import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { motoServerBinary, startEmulator } from '../emulator.js';

const PATCH_DIRECTORY = fileURLToPath(new URL('./', import.meta.url));

/** The Python moto runs on: the interpreter named on its server script's first line. */
function motoPython(): string {
  const binary = motoServerBinary();
  const path = binary.includes('/') ? binary : execFileSync('which', [binary], { encoding: 'utf8' }).trim();
  const shebang = readFileSync(path, 'utf8').split('\n', 1)[0] ?? '';
  const interpreter = shebang.replace(/^#!\s*/, '').split(/\s+/)[0];
  if (!interpreter) throw new Error(`no interpreter named on the first line of ${path}`);
  return interpreter;
}

const PINNED = /^moto\[server\]==(\S+)$/m.exec(
  readFileSync(`${PATCH_DIRECTORY}requirements.txt`, 'utf8'),
)?.[1];
/** The patches applied to every moto, as the marker line names them. */
const ALWAYS_APPLIED =
  'correctness: dynamodb-request-lock, eventbridge-account, sqs-queue-policy-deny; memory: model-instances, stream-records, shard-iterators';
const REFUSED_STATUS = 3;

const spoofRoots: string[] = [];
afterAll(() => {
  for (const root of spoofRoots.splice(0)) rmSync(root, { recursive: true, force: true });
});

/**
 * A directory whose `moto` package is the installed one under another version number, with
 * `change` (Python, run once moto is loaded) applied to it: ahead of moto's own on PYTHONPATH,
 * it stands for a moto other than the pinned one.
 */
function otherMoto(version: string, change = ''): string {
  const installed = execFileSync(
    motoPython(),
    ['-c', 'import moto, os; print(os.path.dirname(moto.__file__))'],
    { encoding: 'utf8', env: { PATH: process.env.PATH } },
  ).trim();
  const root = mkdtempSync(join(tmpdir(), 'spd-wms-other-moto-'));
  spoofRoots.push(root);
  mkdirSync(join(root, 'moto'));
  writeFileSync(
    join(root, 'moto/__init__.py'),
    [
      `__path__ = [${JSON.stringify(installed)}]`,
      `exec(compile(open(${JSON.stringify(`${installed}/__init__.py`)}).read(), "moto/__init__.py", "exec"))`,
      `__version__ = ${JSON.stringify(version)}`,
      change,
    ].join('\n'),
  );
  return root;
}

/** A moto_server whose Python finds the moto in `directory` (from otherMoto) first. */
function motoServerOn(directory: string): string {
  const server = join(directory, 'moto_server');
  writeFileSync(
    server,
    `#!/bin/sh\nPYTHONPATH="$PYTHONPATH:${directory}" exec "${motoServerBinary()}" "$@"\n`,
  );
  chmodSync(server, 0o755);
  return server;
}

/** Starts moto's Python with the patch (and `before`, ahead of it on PYTHONPATH) and lets it end at once. */
function startPatched(env: Record<string, string> = {}, before?: string) {
  const pythonPath = before === undefined ? PATCH_DIRECTORY : `${before}:${PATCH_DIRECTORY}`;
  const run = spawnSync(motoPython(), ['-c', 'pass'], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, PYTHONPATH: pythonPath, ...env },
    timeout: 60_000,
  });
  return { status: run.status, stderr: run.stderr };
}

describe("the emulator patch's version guard", () => {
  it('applies every patch to the pinned moto, the speed patches as SPD_WMS_MOTO_SPEED_PATCHES chooses', () => {
    // Act
    const all = startPatched();
    const none = startPatched({ SPD_WMS_MOTO_SPEED_PATCHES: '0' });
    const two = startPatched({ SPD_WMS_MOTO_SPEED_PATCHES: 'partition-queries,sqs-retention' });
    const unknown = startPatched({ SPD_WMS_MOTO_SPEED_PATCHES: 'partition-queries,faster' });

    // Assess
    expect(all.stderr).toContain(
      `spd-wms: moto patched: moto ${PINNED}; ${ALWAYS_APPLIED}; speed: transaction-undo-log,`,
    );
    expect(all.status).toBe(0);
    expect(none.stderr).toContain(`${ALWAYS_APPLIED}; speed: none\n`);
    expect(two.stderr).toContain(`${ALWAYS_APPLIED}; speed: partition-queries, sqs-retention\n`);
    expect(unknown.stderr).toContain(
      'spd-wms: moto not started: SPD_WMS_MOTO_SPEED_PATCHES names no speed patch faster',
    );
    expect(unknown.status).toBe(REFUSED_STATUS);
  });

  it('applies only the correctness patches to another moto, says so, and refuses the speed patches there', () => {
    // Prepare
    const other = otherMoto('5.3.0');

    // Act
    const unchosen = startPatched({}, other);
    const asked = startPatched({ SPD_WMS_MOTO_SPEED_PATCHES: '1' }, other);

    // Assess
    expect(unchosen.stderr).toContain(`moto 5.3.0 is not the pinned ${PINNED}: speed patches off`);
    expect(unchosen.stderr).toContain(`spd-wms: moto patched: moto 5.3.0; ${ALWAYS_APPLIED}; speed: none\n`);
    expect(unchosen.status).toBe(0);
    expect(asked.stderr).toContain(
      `moto not started: moto 5.3.0 is not the pinned ${PINNED}, and the speed patches`,
    );
    expect(asked.stderr).not.toContain('moto patched');
    expect(asked.status).toBe(REFUSED_STATUS);
  });

  it.each([
    [
      'eventbridge-account',
      'import moto.events.utils as u\nu.EventTemplateParser.DEFAULT_EVENT_INPUT_PATHS_MAP = {}',
    ],
    [
      'sqs-queue-policy-deny',
      'import moto.sqs.responses as r\nr.SQSResponse._authenticate_and_authorize_normal_action = lambda self: None',
    ],
  ])('refuses a moto whose internals the %s patch replaces have changed', (patch, change) => {
    // Prepare
    const other = otherMoto('5.3.0', change);

    // Act
    const run = startPatched({ SPD_WMS_MOTO_SPEED_PATCHES: '0' }, other);

    // Assess
    expect(run.stderr).toContain(
      `spd-wms: moto not started: the correctness patches do not apply to moto 5.3.0: ${patch}:`,
    );
    expect(run.stderr).not.toContain('moto patched');
    expect(run.status).toBe(REFUSED_STATUS);
  });

  it('makes the emulator fail to start, with the reason, on such a moto', async () => {
    // Prepare
    const server = motoServerOn(
      otherMoto(
        '5.3.0',
        'import moto.events.utils as u\nu.EventTemplateParser.DEFAULT_EVENT_INPUT_PATHS_MAP = {}',
      ),
    );

    // Act
    const started = startEmulator({ env: { MOTO_SERVER_BIN: server } });

    // Assess
    await expect(started).rejects.toThrow(
      /exited before it was healthy[\s\S]*correctness patches do not apply to moto 5\.3\.0: eventbridge-account/,
    );
  }, 90_000);

  it("starts the emulator on another moto with the speed patches off, and passes moto's warning on", async () => {
    // Prepare
    const server = motoServerOn(otherMoto('5.3.0'));
    const written: string[] = [];
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });

    // Act
    const emulator = await startEmulator({ env: { MOTO_SERVER_BIN: server } }).finally(() =>
      stderr.mockRestore(),
    );
    await emulator.stop();

    // Assess
    expect(emulator.output()).toContain(`spd-wms: moto patched: moto 5.3.0; ${ALWAYS_APPLIED}; speed: none`);
    expect(written.join('')).toContain(
      `spd-wms: warning: moto 5.3.0 is not the pinned ${PINNED}: speed patches off`,
    );
  }, 90_000);
});

/** Runs one of the patch's checks in moto's Python, alone: no AWS endpoint or profile of the test run applies. */
function runCheck(script: string, seed: number) {
  const run = spawnSync(motoPython(), [fileURLToPath(new URL(script, import.meta.url)), String(seed)], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, PYTHONPATH: PATCH_DIRECTORY },
    timeout: 60_000,
  });
  expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
  return JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}');
}

describe("the emulator patch's partition queries", () => {
  it.each([1, 2])(
    'answer like moto over the whole table through random writes of every kind (seed %i)',
    (seed) => {
      // Act
      const counts = runCheck('./check_partition_queries.py', seed);

      // Assess
      expect(counts.queries).toBe(1000);
      expect(counts.pages_from_whole_table).toBe(0);
      expect(counts.pages_from_partitions).toBe(counts.pages);
      expect(Object.keys(counts.writes).sort()).toEqual([
        'batch',
        'delete',
        'partiql',
        'put',
        'transact',
        'update',
      ]);
      expect(counts.items_stored).toBeGreaterThan(30);
    },
    90_000,
  );
});

describe("the emulator patch's attribute-value sizes", () => {
  it("equal moto's own for random values of every type, nested ones included", () => {
    // Act
    const counts = runCheck('./check_sizes.py', 1);

    // Assess
    expect(counts.values).toBe(3000);
    expect(Object.keys(counts.kinds).sort()).toEqual([
      'B',
      'BOOL',
      'BS',
      'L',
      'M',
      'N',
      'NS',
      'NULL',
      'S',
      'SS',
    ]);
  }, 90_000);
});

describe("the emulator patch's cached condition expressions", () => {
  it.each([1, 2])(
    "parse and answer like moto's own, reused across requests, malformed ones included (seed %i)",
    (seed) => {
      // Act
      const counts = runCheck('./check_conditions.py', seed);

      // Assess
      expect(counts.expressions).toBe(800);
      expect(counts.repeated).toBe(800);
      expect(counts.refused).toBeGreaterThan(0);
      expect(counts.evaluations).toBeGreaterThan(2000);
    },
    90_000,
  );
});

describe("the emulator patch's attribute-value parse", () => {
  it.each([1, 2])(
    "equals moto's model walk on random requests, malformed values included (seed %i)",
    (seed) => {
      // Act
      const counts = runCheck('./check_attribute_values.py', seed);

      // Assess
      expect(counts.requests).toBe(1500);
      expect(Object.keys(counts.operations).sort()).toEqual(['PutItem', 'Query', 'TransactWriteItems']);
      expect(counts.refused).toBeGreaterThan(0);
      expect(counts.refused).toBeLessThan(counts.requests / 2);
    },
    90_000,
  );
});

describe("the emulator patch's memory", () => {
  it('keeps a packed stream record a write, lists no model object and expires shard iterators', () => {
    // Act
    const figures = runCheck('./check_memory.py', 1);

    // Assess: moto as it is keeps about 6.8 KB a write (every item version and record it made).
    expect(figures).toMatchObject({
      writes: 2000,
      records_read: 2000,
      tracked_instances: 0,
      expired_iterator_refused: true,
    });
    expect(figures.bytes_per_write).toBeLessThan(3000);
    expect(figures.iterators_kept).toBeLessThanOrEqual(2);
  }, 120_000);
});
