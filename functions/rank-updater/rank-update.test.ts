import { describe, expect, it } from 'vitest';
import { retryOf } from './rank-update.js';

const image = (state: 'READY' | 'RUNNING' | 'QUEUED' | 'LOST', attempt: number) => ({
  jobId: 'j-1',
  taskId: 't-1',
  state,
  attempt,
});

describe('retryOf', () => {
  it('sees a retry in a job that became READY at a new attempt', () => {
    expect(
      retryOf({
        eventName: 'MODIFY',
        sequenceNumber: '1',
        oldImage: image('RUNNING', 1),
        newImage: image('READY', 2),
      }),
    ).toEqual({ jobId: 'j-1', taskId: 't-1', attempt: 2 });
    expect(
      retryOf({
        eventName: 'MODIFY',
        sequenceNumber: '2',
        oldImage: image('LOST', 0),
        newImage: image('READY', 1),
      }),
    ).toEqual({ jobId: 'j-1', taskId: 't-1', attempt: 1 });
  });

  it('sees none in a re-queue at the same attempt, a first attempt, or a job that is not READY', () => {
    expect(
      retryOf({
        eventName: 'MODIFY',
        sequenceNumber: '1',
        oldImage: image('QUEUED', 1),
        newImage: image('READY', 1),
      }),
    ).toBeUndefined();
    expect(
      retryOf({ eventName: 'INSERT', sequenceNumber: '2', newImage: image('READY', 0) }),
    ).toBeUndefined();
    expect(
      retryOf({
        eventName: 'MODIFY',
        sequenceNumber: '3',
        oldImage: image('READY', 1),
        newImage: image('QUEUED', 1),
      }),
    ).toBeUndefined();
    expect(
      retryOf({ eventName: 'REMOVE', sequenceNumber: '4', oldImage: image('READY', 1) }),
    ).toBeUndefined();
  });
});
