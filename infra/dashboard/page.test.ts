import { createHash } from 'node:crypto';
import { Script } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { DASHBOARD_HEADERS, DASHBOARD_HTML } from './page.js';

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
    expect([...new Set(fetched)].sort()).toEqual(['dashboard/summary', 'jobs/', 'tasks/']);
    expect(urls).toEqual(['http://www.w3.org/2000/svg']);
  });
});
