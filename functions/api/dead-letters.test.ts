import type { Message } from '@aws-sdk/client-sqs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEAD_LETTER_PEEK } from '../../events/api.js';
import { loadConfig } from '../../shared/config/index.js';
import { ConfigError } from '../../shared/errors/index.js';
import { DEAD_LETTER_ATTRIBUTES } from '../common/index.js';
import { DeadLetterQueuesConfig, deadLetterMessageOf } from './dead-letters.js';

describe('DeadLetterQueuesConfig', () => {
  it('reads the queues by name, with or without a source', () => {
    // Act
    const config = loadConfig(DeadLetterQueuesConfig, {
      OPERATOR_DEAD_LETTER_QUEUES: JSON.stringify({
        status: { dlq: 'SpdWms-StatusDeadLetter12AB-x1', source: 'SpdWms-StatusQueue34CD-y2' },
        'pilot-control': { dlq: 'SpdWms-PilotControlDeadLetter56EF-z3' },
      }),
    });

    // Assess
    expect(config.OPERATOR_DEAD_LETTER_QUEUES).toEqual({
      status: { deadLetterQueue: 'SpdWms-StatusDeadLetter12AB-x1', sourceQueue: 'SpdWms-StatusQueue34CD-y2' },
      'pilot-control': { deadLetterQueue: 'SpdWms-PilotControlDeadLetter56EF-z3' },
    });
  });

  it.each([
    ['not JSON', '{status:', 'OPERATOR_DEAD_LETTER_QUEUES: must be a JSON object'],
    [
      'a URL for a name',
      JSON.stringify({ status: { dlq: 'https://sqs/x' } }),
      'OPERATOR_DEAD_LETTER_QUEUES.status.dlq',
    ],
    [
      'an unknown field',
      JSON.stringify({ status: { dlq: 'q', url: 'x' } }),
      'OPERATOR_DEAD_LETTER_QUEUES.status',
    ],
  ])('refuses %s, naming the variable', (_, value, expected) => {
    // Act
    const load = () => loadConfig(DeadLetterQueuesConfig, { OPERATOR_DEAD_LETTER_QUEUES: value });

    // Assess
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(expected);
  });
});

describe('deadLetterMessageOf', () => {
  it('takes the reason from the attributes a consumer set', () => {
    // Prepare
    const message: Message = {
      MessageId: 'm-1',
      Body: '{"detail":{}}',
      Attributes: { SentTimestamp: '1763111560000' },
      MessageAttributes: {
        [DEAD_LETTER_ATTRIBUTES.code]: { DataType: 'String', StringValue: 'DEFERRED_TOO_LONG' },
        [DEAD_LETTER_ATTRIBUTES.reason]: { DataType: 'String', StringValue: '2 files missing' },
        [DEAD_LETTER_ATTRIBUTES.receiveCount]: { DataType: 'Number', StringValue: '20' },
      },
    };

    // Act
    const view = deadLetterMessageOf(message);

    // Assess
    expect(view).toEqual({
      messageId: 'm-1',
      sentAt: '2025-11-14T09:12:40.000Z',
      receiveCount: 20,
      errorCode: 'DEFERRED_TOO_LONG',
      errorReason: '2 files missing',
      body: '{"detail":{}}',
      bodyTruncated: false,
    });
  });

  it('cuts any body to the preview length and says when it did', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: DEAD_LETTER_PEEK.bodyChars * 2 }), (body) => {
        // Act
        const view = deadLetterMessageOf({ MessageId: 'm', Body: body });

        // Assess
        expect(view.body).toBe(body.slice(0, DEAD_LETTER_PEEK.bodyChars));
        expect(view.bodyTruncated).toBe(body.length > DEAD_LETTER_PEEK.bodyChars);
      }),
    );
  });
});
