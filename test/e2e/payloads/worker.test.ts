import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { type AttemptOutcome, attemptOutcome, FATAL_SHARE } from './attempt-outcome.mjs';

const WORKER = join(import.meta.dirname, 'worker.mjs');
const work = mkdtempSync(join(tmpdir(), 'spd-e2e-worker-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The first input name whose attempt 0 ends as `wanted` under `seed` and `failRate`. */
function nameEnding(wanted: AttemptOutcome, seed: string, failRate: number): string {
  for (let index = 0; ; index++) {
    const name = `input-${index}.dat`;
    if (attemptOutcome({ seed, name, attempt: 0, failRate }) === wanted) return name;
  }
}

function runWorker(name: string, extra: string[]) {
  const dir = mkdtempSync(join(work, 'job-'));
  const input = join(dir, name);
  const outdir = join(dir, 'out');
  mkdirSync(outdir);
  writeFileSync(input, `content of ${name}\n`);
  const result = spawnSync(
    process.execPath,
    [WORKER, '--input', input, '--outdir', outdir, '--job', 'j-1', '--attempt', '0', ...extra],
    { encoding: 'utf8' },
  );
  return { status: result.status, outputs: readdirSync(outdir), outdir, input, dir };
}

describe('attemptOutcome', () => {
  it('draws the same outcome for the same seed, name and attempt', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.string(),
        fc.nat(20),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (seed, name, attempt, failRate) => {
          const first = attemptOutcome({ seed, name, attempt, failRate });
          expect(attemptOutcome({ seed, name, attempt, failRate })).toBe(first);
        },
      ),
    );
  });

  it('fails about failRate of the attempts, FATAL_SHARE of the failures for good', () => {
    fc.assert(
      fc.property(fc.string(), fc.double({ min: 0.1, max: 0.9, noNaN: true }), (seed, failRate) => {
        const outcomes = Array.from({ length: 4000 }, (_, index) =>
          attemptOutcome({ seed, name: `f-${index}`, attempt: index % 3, failRate }),
        );
        const failures = outcomes.filter((outcome) => outcome !== 'ok').length;
        const fatal = outcomes.filter((outcome) => outcome === 'fatal').length;
        // Within five standard deviations of a binomial proportion: a sound rule fails one check
        // in about 1.7 million; a share off by more than 0.1 fails.
        const tolerance = (p: number, n: number) => 5 * Math.sqrt((p * (1 - p)) / n);
        expect(Math.abs(failures / outcomes.length - failRate)).toBeLessThan(
          tolerance(failRate, outcomes.length),
        );
        expect(Math.abs(fatal / failures - FATAL_SHARE)).toBeLessThan(tolerance(FATAL_SHARE, failures));
      }),
      { numRuns: 20 },
    );
  });

  it('never fails at rate 0 and always fails at rate 1', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.nat(20), (seed, name, attempt) => {
        expect(attemptOutcome({ seed, name, attempt, failRate: 0 })).toBe('ok');
        expect(attemptOutcome({ seed, name, attempt, failRate: 1 })).not.toBe('ok');
      }),
    );
  });
});

describe('worker.mjs', () => {
  const seed = 'unit';
  const failRate = 0.5;

  it('writes <input>.out with the input size and SHA-256 when the rule says ok', () => {
    const name = nameEnding('ok', seed, failRate);

    const run = runWorker(name, ['--seed', seed, '--fail-rate', String(failRate)]);

    expect(run.status).toBe(0);
    expect(run.outputs).toEqual([`${name}.out`]);
    const content = readFileSync(run.input);
    expect(readFileSync(join(run.outdir, `${name}.out`), 'utf8')).toBe(
      `${content.length} sha256:${createHash('sha256').update(content).digest('hex')}\n`,
    );
  });

  it('exits 3 without output on a retryable failure, 0 without output on a fatal one', () => {
    const retryable = runWorker(nameEnding('retryable', seed, failRate), [
      '--seed',
      seed,
      '--fail-rate',
      '0.5',
    ]);
    const fatal = runWorker(nameEnding('fatal', seed, failRate), ['--seed', seed, '--fail-rate', '0.5']);

    expect([retryable.status, retryable.outputs]).toEqual([3, []]);
    expect([fatal.status, fatal.outputs]).toEqual([0, []]);
  });

  it('records its process id as <job>.<attempt>.pid in the pid directory', () => {
    const pidDir = mkdtempSync(join(work, 'pids-'));

    const run = runWorker('any.dat', ['--pid-dir', pidDir]);

    expect(run.status).toBe(0);
    expect(readdirSync(pidDir)).toEqual(['j-1.0.pid']);
    expect(Number(readFileSync(join(pidDir, 'j-1.0.pid'), 'utf8'))).toBeGreaterThan(0);
  });

  it('sleeps only on inputs whose name has the given part', () => {
    const started = Date.now();
    runWorker('fast.dat', ['--sleep-ms', '3000', '--sleep-if-name-has', 'slow']);
    const fastMs = Date.now() - started;
    runWorker('slow.dat', ['--sleep-ms', '1500', '--sleep-if-name-has', 'slow']);
    const slowMs = Date.now() - started - fastMs;

    expect(fastMs).toBeLessThan(1500);
    expect(slowMs).toBeGreaterThanOrEqual(1500);
  });

  it('refuses to run without its required arguments', () => {
    expect(() => execFileSync(process.execPath, [WORKER, '--input', 'x'], { stdio: 'pipe' })).toThrow(
      /usage/,
    );
  });
});
