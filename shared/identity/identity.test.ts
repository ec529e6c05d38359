import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { callerIdentityOf, controlQueuePolicy, mayActForPilot, mayRegisterPilot } from './index.js';

const principal = fc.string({ minLength: 1, maxLength: 40 });

describe('callerIdentityOf', () => {
  it('takes the principal id API Gateway verified and its ARN', () => {
    expect(
      callerIdentityOf({
        caller: 'AROAEXAMPLE:node-17',
        userArn: 'arn:aws:sts::123456789012:assumed-role/Pilot/node-17',
      }),
    ).toEqual({ id: 'AROAEXAMPLE:node-17', arn: 'arn:aws:sts::123456789012:assumed-role/Pilot/node-17' });
  });

  it('is undefined for an unsigned request', () => {
    expect(callerIdentityOf({ caller: null, userArn: null })).toBeUndefined();
    expect(callerIdentityOf(undefined)).toBeUndefined();
  });
});

describe('mayActForPilot', () => {
  it('allows exactly the principal that registered the pilot', () => {
    fc.assert(
      fc.property(principal, principal, (registeredBy, other) => {
        expect(mayActForPilot(registeredBy, { id: registeredBy, arn: undefined })).toBe(true);
        expect(mayActForPilot(registeredBy, { id: other, arn: undefined })).toBe(registeredBy === other);
      }),
    );
  });

  it('refuses everybody for a pilot recorded without a principal, and an unsigned caller always', () => {
    fc.assert(
      fc.property(principal, (id) => {
        expect(mayActForPilot(undefined, { id, arn: undefined })).toBe(false);
        expect(mayActForPilot(id, undefined)).toBe(false);
      }),
    );
  });
});

describe('mayRegisterPilot', () => {
  it('allows a new pilot id and a repeated registration by the same principal only', () => {
    const caller = { id: 'AKIAPILOTA', arn: undefined };
    expect(mayRegisterPilot(undefined, caller)).toBe(true);
    expect(mayRegisterPilot({ callerId: 'AKIAPILOTA' }, caller)).toBe(true);
    expect(mayRegisterPilot({ callerId: 'AKIAPILOTB' }, caller)).toBe(false);
    expect(mayRegisterPilot({}, caller)).toBe(false);
    expect(mayRegisterPilot(undefined, undefined)).toBe(false);
  });
});

describe('controlQueuePolicy', () => {
  it('denies reading the queue to every principal but the registering one', () => {
    const policy = JSON.parse(
      controlQueuePolicy('arn:aws:sqs:us-east-1:123456789012:wms-pilot-a', {
        id: 'AROAX:node-1',
        arn: undefined,
      }),
    );
    expect(policy.Statement).toEqual([
      expect.objectContaining({
        Effect: 'Deny',
        Principal: '*',
        Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility'],
        Resource: 'arn:aws:sqs:us-east-1:123456789012:wms-pilot-a',
        Condition: { StringNotEquals: { 'aws:userid': 'AROAX:node-1' } },
      }),
    ]);
  });
});
