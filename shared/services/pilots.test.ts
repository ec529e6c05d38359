import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Identifier } from '../model/index.js';
import { controlQueueName } from './index.js';

const SQS_QUEUE_NAME = /^[A-Za-z0-9_-]{1,80}$/;
const PREFIX = 'wmsstack-pilot-';

const pilotIds = fc
  .stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/)
  .filter((id) => Identifier.safeParse(id).success);
const prefixes = fc.stringMatching(/^[A-Za-z0-9_-]{1,53}$/);

describe('controlQueueName', () => {
  it('is the prefix and the id when the id is a plain name that fits', () => {
    expect(controlQueueName(PREFIX, 'node01-a1b2c3d4')).toBe('wmsstack-pilot-node01-a1b2c3d4');
  });

  it('hashes ids with characters SQS refuses, keeping a readable part', () => {
    const name = controlQueueName(PREFIX, 'node01.spd.local:4f2a');
    expect(name).toMatch(/^wmsstack-pilot-node01-spd-local-4f2a_[0-9a-f]{26}$/);
  });

  it('hashes ids too long for the 80-character limit', () => {
    const name = controlQueueName(PREFIX, 'n'.repeat(100));
    expect(name.length).toBe(80);
    expect(name).toMatch(/^wmsstack-pilot-n+_[0-9a-f]{26}$/);
  });

  it('always gives a valid SQS queue name that starts with the prefix', () => {
    fc.assert(
      fc.property(prefixes, pilotIds, (prefix, pilotId) => {
        const name = controlQueueName(prefix, pilotId);
        expect(name).toMatch(SQS_QUEUE_NAME);
        expect(name.startsWith(prefix)).toBe(true);
      }),
    );
  });

  it('gives distinct pilots distinct queues and the same pilot the same queue', () => {
    fc.assert(
      fc.property(pilotIds, pilotIds, (a, b) => {
        expect(controlQueueName(PREFIX, a)).toBe(controlQueueName(PREFIX, a));
        if (a !== b) expect(controlQueueName(PREFIX, a)).not.toBe(controlQueueName(PREFIX, b));
      }),
    );
  });

  it('keeps ids that differ only in characters SQS refuses apart', () => {
    expect(controlQueueName(PREFIX, 'node.1')).not.toBe(controlQueueName(PREFIX, 'node:1'));
    expect(controlQueueName(PREFIX, 'node-1')).not.toBe(controlQueueName(PREFIX, 'node.1'));
  });
});
