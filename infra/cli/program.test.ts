import { describe, expect, it } from 'vitest';
import type { CliIo } from './context.js';
import { EXIT_CODES } from './exit-codes.js';
import { runCli } from './program.js';

function io(env: CliIo['env'] = {}): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout,
    stderr,
    out: (text) => stdout.push(text),
    err: (text) => stderr.push(text),
    env,
    isTTY: false,
    signal: new AbortController().signal,
  };
}

describe('runCli', () => {
  it('prints help with exit 0', async () => {
    // Prepare
    const streams = io();

    // Act
    const code = await runCli(['--help'], streams);

    // Assess
    expect(code).toBe(EXIT_CODES.ok);
    for (const command of [
      'submit',
      'tasks',
      'status',
      'watch',
      'cancel',
      'rank',
      'jobs',
      'why',
      'pilots',
      'audit',
      'dlq',
      'dashboard',
    ]) {
      expect(streams.stdout.join('\n')).toMatch(new RegExp(`^ {2}${command}\\b`, 'm'));
    }
  });

  it('exits 2 for an unknown command, a bad option value or a missing argument, before any request', async () => {
    // Act
    const codes = await Promise.all([
      runCli(['launch'], io()),
      runCli(['tasks', '--state', 'PENDING'], io()),
      runCli(['dlq', 'redrive'], io()),
      runCli(['audit', '--max-tasks', '0'], io()),
      runCli(['tasks'], io()),
    ]);

    // Assess
    expect(codes).toEqual([2, 2, 2, 2, 2]);
  });

  it('says what is missing when no API is configured', async () => {
    // Prepare
    const streams = io({ AWS_REGION: 'us-east-1' });

    // Act
    const code = await runCli(['pilots'], streams);

    // Assess
    expect(code).toBe(EXIT_CODES.usage);
    expect(streams.stderr).toEqual([
      expect.stringMatching(/^wms: no API URL: pass --api-url or set WMS_API_URL/),
    ]);
  });
});
