import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateTimeSlice } from './time-slices.js';

const payload = (name: string) => join(import.meta.dirname, 'payloads', name);
const work = mkdtempSync(join(tmpdir(), 'spd-payloads-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('demo payloads on generated time slices', () => {
  const slice = generateTimeSlice({ slice: 7, events: 400, seed: 42 });
  const input = join(work, 'slice-7.raw');
  writeFileSync(input, slice.bytes);

  it('generates the same slice from the same seed and a different one from another', () => {
    expect(generateTimeSlice({ slice: 7, events: 400, seed: 42 }).bytes.equals(slice.bytes)).toBe(true);
    expect(generateTimeSlice({ slice: 7, events: 400, seed: 43 }).bytes.equals(slice.bytes)).toBe(false);
    expect(slice.hotEvents).toBeGreaterThan(0);
    expect(slice.hotEvents).toBeLessThan(slice.events / 4);
  });

  it('decode unscrambles every event of the slice, and filter keeps exactly the hot ones', () => {
    execFileSync(process.execPath, [payload('decode.mjs'), input, work]);
    const eventsFile = join(work, 'slice-7.raw.events.jsonl');
    const events = readFileSync(eventsFile, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(events).toHaveLength(slice.events);
    expect(events.reduce((sum, e) => sum + e.hits, 0)).toBe(slice.hits);

    execFileSync(process.execPath, [payload('filter.mjs'), eventsFile, work], {
      env: { ...process.env, CUDA_VISIBLE_DEVICES: '0' },
    });
    const hotFile = join(work, 'slice-7.raw.hot.jsonl');
    const hot = readFileSync(hotFile, 'utf8').trim().split('\n');
    expect(hot).toHaveLength(slice.hotEvents);
    expect(statSync(hotFile).size).toBeLessThan(statSync(eventsFile).size / 3);
  });

  it('decode refuses a file that is not a time slice with its own exit code', () => {
    const bogus = join(work, 'bogus.raw');
    writeFileSync(bogus, 'not a slice at all, just text');
    expect(() =>
      execFileSync(process.execPath, [payload('decode.mjs'), bogus, work], { stdio: 'pipe' }),
    ).toThrow(expect.objectContaining({ status: 4 }));
  });
});
