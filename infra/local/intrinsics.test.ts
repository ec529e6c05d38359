import { describe, expect, it } from 'vitest';
import { TemplateError } from './errors.js';
import {
  directReference,
  type IntrinsicScope,
  referencedLogicalIds,
  resolveIntrinsics,
} from './intrinsics.js';

const PHYSICAL: Record<string, string> = {
  'AWS::Region': 'eu-north-1',
  'AWS::AccountId': '123456789012',
  'AWS::Partition': 'aws',
  Jobs: 'wms-jobs',
  Status: 'http://127.0.0.1:5000/123456789012/wms-status',
};

const scope: IntrinsicScope = {
  ref(name) {
    const value = PHYSICAL[name];
    if (value === undefined) throw new TemplateError(`Ref ${name}: unknown`);
    return value;
  },
  getAtt(logicalId, attribute) {
    if (logicalId === 'Jobs' && attribute === 'Arn')
      return 'arn:aws:dynamodb:eu-north-1:123456789012:table/wms-jobs';
    if (logicalId === 'Jobs' && attribute === 'StreamArn')
      return 'arn:aws:dynamodb:eu-north-1:123456789012:table/wms-jobs/stream/1';
    throw new TemplateError(`Fn::GetAtt ${logicalId}.${attribute}: unknown`);
  },
};

describe('resolveIntrinsics', () => {
  it('resolves Ref and both forms of Fn::GetAtt inside nested objects and lists', () => {
    const resolved = resolveIntrinsics(
      {
        Table: { Ref: 'Jobs' },
        Arns: [{ 'Fn::GetAtt': ['Jobs', 'Arn'] }, { 'Fn::GetAtt': 'Jobs.StreamArn' }],
        Literal: 7,
      },
      scope,
    );

    expect(resolved).toEqual({
      Table: 'wms-jobs',
      Arns: [
        'arn:aws:dynamodb:eu-north-1:123456789012:table/wms-jobs',
        'arn:aws:dynamodb:eu-north-1:123456789012:table/wms-jobs/stream/1',
      ],
      Literal: 7,
    });
  });

  it('joins resolved parts with the delimiter', () => {
    const value = { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['Jobs', 'Arn'] }, '/index/', 'byState']] };

    expect(resolveIntrinsics(value, scope)).toBe(
      'arn:aws:dynamodb:eu-north-1:123456789012:table/wms-jobs/index/byState',
    );
  });

  it('substitutes Fn::Sub placeholders: references, attributes, pseudo parameters, variables and escapes', () => {
    const plain = {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub syntax, not a JS template
      'Fn::Sub': 'arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:${Jobs}/${Jobs.Arn}',
    };
    const withVariables = {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub syntax, not a JS template
      'Fn::Sub': ['${Prefix}-${Jobs}-${!Literal}', { Prefix: { Ref: 'AWS::Region' } }],
    };

    expect(resolveIntrinsics(plain, scope)).toBe(
      'arn:aws:sqs:eu-north-1:123456789012:wms-jobs/arn:aws:dynamodb:eu-north-1:123456789012:table/wms-jobs',
    );
    // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub syntax, not a JS template
    expect(resolveIntrinsics(withVariables, scope)).toBe('eu-north-1-wms-jobs-${Literal}');
  });

  it('selects from a split string', () => {
    const queueName = { 'Fn::Select': [4, { 'Fn::Split': ['/', { Ref: 'Status' }] }] };

    expect(resolveIntrinsics(queueName, scope)).toBe('wms-status');
  });

  it('drops properties and list elements that are AWS::NoValue', () => {
    const value = { Keep: 'a', Drop: { Ref: 'AWS::NoValue' }, List: ['x', { Ref: 'AWS::NoValue' }, 'y'] };

    expect(resolveIntrinsics(value, scope)).toEqual({ Keep: 'a', List: ['x', 'y'] });
  });

  it('names the property path of what it cannot resolve', () => {
    const value = { Environment: { Variables: { QUEUE: { Ref: 'Missing' } } } };

    expect(() => resolveIntrinsics(value, scope, 'Fn.Properties')).toThrow(/Ref Missing: unknown/);
  });

  it.each([
    ['Fn::If', { 'Fn::If': ['IsProd', 'a', 'b'] }, /Fn::If is not supported/],
    ['Fn::ImportValue', { 'Fn::ImportValue': 'Shared-Queue' }, /Fn::ImportValue is not supported/],
    ['a Select outside the list', { 'Fn::Select': [3, ['a', 'b']] }, /outside the list of 2/],
    ['a Join over a non-list', { 'Fn::Join': [',', 'abc'] }, /must be a list/],
    ['a malformed GetAtt', { 'Fn::GetAtt': 'JobsArn' }, /must be "LogicalId.Attribute"/],
    ['a Join of an object', { 'Fn::Join': ['', [{ Nested: true }]] }, /must resolve to a string/],
  ])('refuses %s', (_label, value, message) => {
    expect(() => resolveIntrinsics(value, scope, 'X.Properties')).toThrow(message);
  });
});

describe('referencedLogicalIds', () => {
  it('collects Ref, GetAtt and Sub targets, not pseudo parameters, Sub variables or escapes', () => {
    const value = {
      A: { Ref: 'Queue' },
      B: [{ 'Fn::GetAtt': ['Table', 'StreamArn'] }, { Ref: 'AWS::Region' }],
      // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub syntax, not a JS template
      C: { 'Fn::Sub': ['${Bus.Arn}/${Var}/${!Escaped}/${AWS::AccountId}', { Var: { Ref: 'Bucket' } }] },
      D: { 'Fn::Join': ['', [{ 'Fn::GetAtt': 'Function.Arn' }]] },
    };

    expect([...referencedLogicalIds(value)].sort()).toEqual(['Bucket', 'Bus', 'Function', 'Queue', 'Table']);
  });
});

describe('directReference', () => {
  it('recognizes exactly a Ref or a GetAtt, nothing composite', () => {
    expect(directReference({ Ref: 'Queue' })).toEqual({ logicalId: 'Queue', attribute: null });
    expect(directReference({ 'Fn::GetAtt': ['Queue', 'Arn'] })).toEqual({
      logicalId: 'Queue',
      attribute: 'Arn',
    });
    expect(directReference({ Ref: 'AWS::Region' })).toBeUndefined();
    expect(directReference({ 'Fn::Join': ['', [{ Ref: 'Queue' }]] })).toBeUndefined();
    expect(directReference('arn:aws:sqs:eu-north-1:123456789012:q')).toBeUndefined();
  });
});
