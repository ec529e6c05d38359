import { describe, expect, it } from 'vitest';
import { Expression } from './expressions.js';

describe('Expression', () => {
  it('gives every path segment one name placeholder and every value its own', () => {
    const expression = new Expression();

    const condition = `${expression.name('state')} = ${expression.value('READY')} AND ${expression.name('counts.READY')} > ${expression.value(0)}`;

    expect(condition).toBe('#n0 = :v0 AND #n1.#n2 > :v1');
    expect(expression.attributes()).toEqual({
      ExpressionAttributeNames: { '#n0': 'state', '#n1': 'counts', '#n2': 'READY' },
      ExpressionAttributeValues: { ':v0': 'READY', ':v1': 0 },
    });
  });

  it('writes IN for several values and = for one', () => {
    const expression = new Expression();

    expect(expression.oneOf('state', ['ACTIVE', 'IDLE'])).toBe('#n0 IN (:v0, :v1)');
    expect(expression.oneOf('state', ['LOST'])).toBe('#n0 = :v2');
  });

  it('builds SET, counter and REMOVE clauses, skipping undefined values and zero deltas', () => {
    const expression = new Expression();

    const update = expression.update({
      set: { state: 'QUEUED', note: undefined },
      add: { 'counts.READY': -2, 'counts.QUEUED': 2, jobsTotal: 0 },
      remove: ['phase'],
    });

    expect(update).toBe('SET #n0 = :v0, #n1.#n2 = #n1.#n2 - :v1, #n1.#n3 = #n1.#n3 + :v2 REMOVE #n4');
    expect(expression.attributes().ExpressionAttributeValues).toEqual({
      ':v0': 'QUEUED',
      ':v1': 2,
      ':v2': 2,
    });
  });

  it('leaves out the values map when there are no values', () => {
    const expression = new Expression();
    expression.name('taskId');

    expect(expression.attributes()).toEqual({ ExpressionAttributeNames: { '#n0': 'taskId' } });
  });
});
