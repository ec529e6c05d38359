import { describe, expect, it } from 'vitest';
import type { TaskView } from '../../events/index.js';
import { readSample } from '../../events/samples.js';
import { watchBlock, watchLine } from './watch.js';

const task = readSample('api.task-view') as TaskView;
const at = new Date('2026-01-02T12:00:00.000Z');

describe('what wms watch shows', () => {
  it('on a terminal: a head line, the elapsed time, rate and ETA, and a 40-cell bar per job state', () => {
    // Act
    const block = watchBlock(task, at);

    // Assess
    expect(block[0]).toContain(`${task.taskId} (${task.name}) ${task.state}`);
    expect(block).toHaveLength(2 + 7);
    expect(block[1]).toMatch(/^ {2}elapsed .+ · [\d.]+ jobs\/min · ETA /);
    for (const line of block.slice(2)) expect(line).toMatch(/^ {2}[A-Z]+ +[█░]{40} +\d+$/);
  });

  it('in a log: one line with the time, the state, the share done and the counts', () => {
    // Act
    const line = watchLine(task, at);

    // Assess
    expect(line).toMatch(
      new RegExp(
        `^2026-01-02T12:00:00.000Z ${task.taskId} ${task.state} ${task.progress.percentDone.toFixed(1)}% READY=`,
      ),
    );
  });
});
