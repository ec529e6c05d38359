import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TaskView } from '../../events/index.js';
import { readSample } from '../../events/samples.js';
import { CliError, EXIT_CODES } from './exit-codes.js';
import { readTaskFile, statusText } from './task-commands.js';

const directory = mkdtempSync(join(tmpdir(), 'wms-task-file-'));

function file(name: string, content: string): string {
  const path = join(directory, name);
  writeFileSync(path, content);
  return path;
}

async function refusal(path: string): Promise<CliError> {
  const error = await readTaskFile(path).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(CliError);
  return error as CliError;
}

describe('readTaskFile', () => {
  it('returns a valid task as written', async () => {
    // Prepare
    const task = readSample('api.register-task-request');

    // Act
    const read = await readTaskFile(file('task.json', JSON.stringify(task)));

    // Assess
    expect(read).toEqual(task);
  });

  it('names every bad field, as its path in the file', async () => {
    // Prepare
    const task = readSample('api.register-task-request') as Record<string, unknown>;
    const path = file('bad.json', JSON.stringify({ ...task, args: ['--x', 7], mode: 'reduce', priority: 3 }));

    // Act
    const error = await refusal(path);

    // Assess
    expect(error.exitCode).toBe(EXIT_CODES.usage);
    expect(error.message).toBe(`${path} is not a valid task`);
    expect(error.details.map((detail) => detail.split(':')[0]).sort()).toEqual([
      'args[1]',
      'mode',
      'priority',
    ]);
  });

  it('refuses text that is not JSON and a file that is not there', async () => {
    // Act
    const notJson = await refusal(file('text.json', 'name: reco'));
    const missing = await refusal(join(directory, 'absent.json'));

    // Assess
    expect(notJson.message).toContain('is not valid JSON');
    expect(missing.message).toContain('cannot read');
    expect([notJson.exitCode, missing.exitCode]).toEqual([EXIT_CODES.usage, EXIT_CODES.usage]);
  });
});

describe('statusText', () => {
  it('shows the task, its datasets and a bar per job state', () => {
    // Act
    const sample = readSample('api.task-view') as TaskView;
    const text = statusText({ ...sample, maxRetries: 1 }, new Date('2026-01-02T12:00:00.000Z'));

    // Assess
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^Task \S+ \(\S+\) is [A-Z]+$/);
    expect(text).toContain(', 1 retry per job');
    expect(text).toMatch(/^ {2}time {4}elapsed .+ jobs\/min/m);
    expect(lines.filter((line) => /^ {4}[A-Z]+ +[█░]{30} +\d+$/.test(line))).toHaveLength(7);
  });
});
