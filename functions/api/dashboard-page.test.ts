import { createHash } from 'node:crypto';
import { runInNewContext, Script } from 'node:vm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DASHBOARD_HEADERS, DASHBOARD_HTML, THROUGHPUT_SCRIPT } from './dashboard-page.js';

interface ChartPoint {
  minute: string;
  done: number;
  failed: number;
}
type Merge = (
  server: readonly ChartPoint[],
  live: Record<string, { done: number; failed: number }>,
  nowMs: number,
  count: number,
) => ChartPoint[];

/** The chart's arithmetic as the browser runs it. */
function browserMerge(): Merge {
  return runInNewContext(`${THROUGHPUT_SCRIPT}; mergeThroughput`) as Merge;
}

function inline(tag: 'script' | 'style'): string {
  const match = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(DASHBOARD_HTML);
  if (!match) throw new Error(`the page has no <${tag}>`);
  return match[1]!;
}

const hash = (source: string) => `'sha256-${createHash('sha256').update(source, 'utf8').digest('base64')}'`;

describe('the dashboard page', () => {
  it('holds one script that parses as JavaScript', () => {
    // Assess
    expect(DASHBOARD_HTML.match(/<script>/g)).toHaveLength(1);
    expect(() => new Script(inline('script'))).not.toThrow();
  });

  it('is allowed by its own content security policy, and nothing else is', () => {
    // Act
    const policy = DASHBOARD_HEADERS['content-security-policy']!;

    // Assess
    expect(policy).toContain(`script-src ${hash(inline('script'))}`);
    expect(policy).toContain(`style-src ${hash(inline('style'))}`);
    expect(policy).toContain("default-src 'none'");
    // Inline style attributes would be blocked: the page sets styles from its script only.
    expect(DASHBOARD_HTML).not.toMatch(/\sstyle="/);
  });

  it('asks only its own API, by URLs relative to where it is served', () => {
    // Act
    const fetched = [...inline('script').matchAll(/fetch\('([^']*)'/g)].map((match) => match[1]);
    const urls = [...inline('script').matchAll(/https?:\/\/[^'"\s]+/g)].map((match) => match[0]);

    // Assess
    expect([...new Set(fetched)].sort()).toEqual([
      'dashboard/history?minutes=',
      'dashboard/summary',
      'jobs/',
      'tasks/',
    ]);
    expect(urls).toEqual(['http://www.w3.org/2000/svg']);
  });

  it('includes the chart arithmetic it is tested with', () => {
    expect(inline('script')).toContain(THROUGHPUT_SCRIPT);
  });
});

describe('the throughput chart', () => {
  it("shows the server's minutes after a reload, and what the page saw where the server is behind", () => {
    // Prepare: the server's record (CloudWatch lags a minute or two), and what the page saw since it opened.
    const now = Date.parse('2026-12-06T21:04:20.000Z');
    const server = [
      { minute: '2026-12-06T21:01:00.000Z', done: 12, failed: 1 },
      { minute: '2026-12-06T21:02:00.000Z', done: 9, failed: 0 },
      { minute: '2026-12-06T21:03:00.000Z', done: 2, failed: 0 },
    ];
    const live = {
      '2026-12-06T21:03:00.000Z': { done: 5, failed: 1 },
      '2026-12-06T21:04:00.000Z': { done: 3, failed: 0 },
    };

    // Act
    const merged = browserMerge()(server, live, now, 5);
    const afterReload = browserMerge()(server, {}, now, 5);

    // Assess
    expect(JSON.parse(JSON.stringify(merged))).toEqual([
      { minute: '2026-12-06T21:00:00.000Z', done: 0, failed: 0 },
      { minute: '2026-12-06T21:01:00.000Z', done: 12, failed: 1 },
      { minute: '2026-12-06T21:02:00.000Z', done: 9, failed: 0 },
      { minute: '2026-12-06T21:03:00.000Z', done: 5, failed: 1 },
      { minute: '2026-12-06T21:04:00.000Z', done: 3, failed: 0 },
    ]);
    expect(afterReload.map((point) => point.done)).toEqual([0, 12, 9, 2, 0]);
  });

  it('takes the larger count of a minute, never the sum: the server and the page saw the same jobs', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ done: fc.nat(50), failed: fc.nat(5) }), { minLength: 3, maxLength: 3 }),
        fc.array(fc.record({ done: fc.nat(50), failed: fc.nat(5) }), { minLength: 3, maxLength: 3 }),
        (kept, seen) => {
          const now = Date.parse('2026-12-06T21:04:20.000Z');
          const minutes = [
            '2026-12-06T21:02:00.000Z',
            '2026-12-06T21:03:00.000Z',
            '2026-12-06T21:04:00.000Z',
          ];
          const server = minutes.map((minute, index) => ({ minute, ...kept[index]! }));
          const live = Object.fromEntries(minutes.map((minute, index) => [minute, seen[index]!]));
          const merged = browserMerge()(server, live, now, 3);
          merged.forEach((point, index) => {
            expect(point.done).toBe(Math.max(kept[index]!.done, seen[index]!.done));
            expect(point.failed).toBe(Math.max(kept[index]!.failed, seen[index]!.failed));
          });
        },
      ),
    );
  });
});
