import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { motoServerBinary } from '../emulator.js';

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
