import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ERRORS } from '../../shared/errors/index.js';
import { type ArgContext, expandArgs } from './args.js';
import { PayloadArgsError } from './errors.js';

const context: ArgContext = {
  inputPaths: ['/w/j-1.0/in/a.raw', '/w/j-1.0/in/b.raw'],
  outputDir: '/w/j-1.0/out',
  jobId: 'j-1',
  taskId: 't-7',
  attempt: 2,
};

describe('expandArgs', () => {
  it('replaces the scalar placeholders wherever they occur', () => {
    const args = ['--in={input}', '{outdir}/result.root', '{jobId}.{taskId}.{attempt}', '-v'];

    expect(expandArgs(args, context)).toEqual([
      '--in=/w/j-1.0/in/a.raw',
      '/w/j-1.0/out/result.root',
      'j-1.t-7.2',
      '-v',
    ]);
  });

  it('expands a whole {inputs} argument into one argument per input, in order', () => {
    expect(expandArgs(['merge', '{inputs}', '-o', '{outdir}'], context)).toEqual([
      'merge',
      '/w/j-1.0/in/a.raw',
      '/w/j-1.0/in/b.raw',
      '-o',
      '/w/j-1.0/out',
    ]);
  });

  it('refuses {inputs} inside a longer argument, naming the argument', () => {
    const expand = () => expandArgs(['-x', '--files={inputs}'], context);

    expect(expand).toThrow(PayloadArgsError);
    expect(expand).toThrow(/^args\.1: /);
    try {
      expand();
    } catch (error) {
      expect((error as PayloadArgsError).entry).toBe(ERRORS.VALIDATION_BAD_JOB_MESSAGE);
    }
  });

  it('never splits an argument and leaves other braces alone', () => {
    const args = ['a b c', '{"json": {input}}', '{unknown}', '$(rm -rf /)', ''];

    expect(expandArgs(args, context)).toEqual([
      'a b c',
      '{"json": /w/j-1.0/in/a.raw}',
      '{unknown}',
      '$(rm -rf /)',
      '',
    ]);
  });

  it('keeps arguments without placeholders exactly as they are', () => {
    fc.assert(
      fc.property(fc.array(fc.string().filter((s) => !s.includes('{'))), (args) => {
        expect(expandArgs(args, context)).toEqual(args);
      }),
    );
  });

  it('gives one argument per argument, plus inputs − 1 for each {inputs}', () => {
    const argArb = fc.oneof(
      fc.constant('{inputs}'),
      fc.constant('{input}'),
      fc.string().filter((s) => !s.includes('{')),
    );
    fc.assert(
      fc.property(
        fc.array(argArb),
        fc.array(fc.constant('/in/f'), { minLength: 1, maxLength: 5 }),
        (args, inputs) => {
          const expanded = expandArgs(args, { ...context, inputPaths: inputs });
          const wholeInputs = args.filter((arg) => arg === '{inputs}').length;
          expect(expanded).toHaveLength(args.length + wholeInputs * (inputs.length - 1));
        },
      ),
    );
  });
});
