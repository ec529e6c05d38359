/**
 * Lambda event filtering (FilterCriteria) for event source mappings: a record is delivered
 * when at least one of the mapping's patterns matches it. Pure.
 *
 * Supported subset of the Lambda / EventBridge pattern syntax:
 * - nested objects; every named field must match (AND); `$or: [pattern, ...]` (OR of patterns);
 * - leaf lists of alternatives (OR): exact strings, numbers (compared numerically), booleans,
 *   `null`; `""` for the empty string;
 * - `{ "prefix": s }`, `{ "suffix": s }`, `{ "equals-ignore-case": s }`;
 * - `{ "anything-but": value | [values] | { "prefix": s } | { "suffix": s } }` (the field must exist);
 * - `{ "exists": true | false }` (on leaves: a present scalar, or a non-empty list);
 * - `{ "numeric": [op, n] }` or `{ "numeric": [op, n, op, n] }` with op in = < <= > >=
 *   (matches JSON numbers only: a DynamoDB `N` is a string, as in Lambda).
 * An event list matches when any element matches. Anything else (wildcard, cidr, ...)
 * is refused with a FilterPatternError rather than silently mismatching.
 */
import { FilterPatternError } from './errors.js';

export type RecordMatcher = (record: unknown) => boolean;

type Scalar = string | number | boolean | null;
type ScalarMatcher = (value: Scalar) => boolean;
type LeafMatcher = (field: unknown) => boolean;

const NUMERIC_OPERATORS = {
  '=': (value: number, bound: number) => value === bound,
  '<': (value: number, bound: number) => value < bound,
  '<=': (value: number, bound: number) => value <= bound,
  '>': (value: number, bound: number) => value > bound,
  '>=': (value: number, bound: number) => value >= bound,
} as const;
type NumericOperator = keyof typeof NUMERIC_OPERATORS;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isScalar(value: unknown): value is Scalar {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value);
}

function fail(path: string, message: string): never {
  throw new FilterPatternError(`filter pattern ${path}: ${message}`);
}

function requireString(value: unknown, path: string, operator: string): string {
  if (typeof value !== 'string') fail(path, `"${operator}" needs a string, got ${JSON.stringify(value)}`);
  return value;
}

function exactMatcher(expected: Scalar): ScalarMatcher {
  return (value) => value === expected;
}

function compileAnythingBut(argument: unknown, path: string): ScalarMatcher {
  if (isRecord(argument)) {
    const [operator, ...others] = Object.keys(argument);
    if (others.length > 0 || (operator !== 'prefix' && operator !== 'suffix')) {
      return fail(
        path,
        `"anything-but" supports a value, a list, "prefix" or "suffix", got ${JSON.stringify(argument)}`,
      );
    }
    const affix = requireString(argument[operator], path, `anything-but.${operator}`);
    return operator === 'prefix'
      ? (value) => typeof value === 'string' && !value.startsWith(affix)
      : (value) => typeof value === 'string' && !value.endsWith(affix);
  }
  const excluded = Array.isArray(argument) ? argument : [argument];
  if (!excluded.every(isScalar))
    fail(path, `"anything-but" values must be scalars, got ${JSON.stringify(argument)}`);
  return (value) => !excluded.includes(value);
}

function compileNumeric(argument: unknown, path: string): ScalarMatcher {
  if (!Array.isArray(argument) || (argument.length !== 2 && argument.length !== 4)) {
    return fail(path, `"numeric" needs [op, n] or [op, n, op, n], got ${JSON.stringify(argument)}`);
  }
  const comparisons: Array<(value: number) => boolean> = [];
  for (let index = 0; index < argument.length; index += 2) {
    const operator = argument[index] as unknown;
    const bound = argument[index + 1] as unknown;
    if (typeof operator !== 'string' || !Object.hasOwn(NUMERIC_OPERATORS, operator)) {
      fail(path, `unknown numeric operator ${JSON.stringify(operator)}`);
    }
    if (typeof bound !== 'number' || !Number.isFinite(bound))
      fail(path, `numeric bound must be a number, got ${JSON.stringify(bound)}`);
    const compare = NUMERIC_OPERATORS[operator as NumericOperator];
    comparisons.push((value) => compare(value, bound));
  }
  return (value) => typeof value === 'number' && comparisons.every((comparison) => comparison(value));
}

/** `exists` looks at the field itself; every other operator at each scalar of it. */
function compileAlternative(alternative: unknown, path: string): LeafMatcher {
  if (isScalar(alternative)) return anyScalar(exactMatcher(alternative));
  if (!isRecord(alternative)) return fail(path, `unsupported alternative ${JSON.stringify(alternative)}`);
  const [operator, ...others] = Object.keys(alternative);
  if (operator === undefined || others.length > 0) {
    return fail(path, `an operator object has exactly one key, got ${JSON.stringify(alternative)}`);
  }
  const argument = alternative[operator];
  switch (operator) {
    case 'prefix': {
      const prefix = requireString(argument, path, operator);
      return anyScalar((value) => typeof value === 'string' && value.startsWith(prefix));
    }
    case 'suffix': {
      const suffix = requireString(argument, path, operator);
      return anyScalar((value) => typeof value === 'string' && value.endsWith(suffix));
    }
    case 'equals-ignore-case': {
      const expected = requireString(argument, path, operator).toLowerCase();
      return anyScalar((value) => typeof value === 'string' && value.toLowerCase() === expected);
    }
    case 'anything-but':
      return anyScalar(compileAnythingBut(argument, path));
    case 'numeric':
      return anyScalar(compileNumeric(argument, path));
    case 'exists': {
      if (typeof argument !== 'boolean')
        return fail(path, `"exists" needs true or false, got ${JSON.stringify(argument)}`);
      return argument ? isPresentLeaf : (field) => !isPresentLeaf(field) && !isRecord(field);
    }
    default:
      return fail(path, `operator "${operator}" is not supported by the embedded runtime`);
  }
}

function isPresentLeaf(field: unknown): boolean {
  if (field === undefined || isRecord(field)) return false;
  return !Array.isArray(field) || field.length > 0;
}

/** A scalar matcher applied to a field: a scalar, or any scalar element of a list. */
function anyScalar(matcher: ScalarMatcher): LeafMatcher {
  return (field) => {
    if (Array.isArray(field)) return field.some((element) => isScalar(element) && matcher(element));
    return isScalar(field) && matcher(field);
  };
}

function compileLeaf(alternatives: unknown[], path: string): LeafMatcher {
  const matchers = alternatives.map((alternative, index) =>
    compileAlternative(alternative, `${path}[${index}]`),
  );
  return (field) => matchers.some((matcher) => matcher(field));
}

function compileObject(pattern: unknown, path: string): RecordMatcher {
  if (!isRecord(pattern)) return fail(path, `must be an object, got ${JSON.stringify(pattern)}`);
  const fieldMatchers: RecordMatcher[] = [];
  for (const [key, node] of Object.entries(pattern)) {
    const at = `${path}.${key}`;
    if (key === '$or') {
      if (!Array.isArray(node) || node.length < 2) fail(at, '"$or" needs a list of at least two patterns');
      const branches = node.map((branch, index) => compileObject(branch, `${at}[${index}]`));
      fieldMatchers.push((value) => branches.some((branch) => branch(value)));
    } else if (Array.isArray(node)) {
      const leaf = compileLeaf(node, at);
      fieldMatchers.push((value) => leaf(isRecord(value) ? value[key] : undefined));
    } else if (isRecord(node)) {
      const nested = compileObject(node, at);
      fieldMatchers.push((value) => isRecord(value) && isRecord(value[key]) && nested(value[key]));
    } else {
      fail(at, `a field must hold a list of alternatives or a nested pattern, got ${JSON.stringify(node)}`);
    }
  }
  return (record) => isRecord(record) && fieldMatchers.every((matcher) => matcher(record));
}

/** Compiles one pattern (the JSON text of `FilterCriteria.Filters[].Pattern`, or its parsed form). */
export function compileFilterPattern(pattern: string | Record<string, unknown>): RecordMatcher {
  let parsed: unknown = pattern;
  if (typeof pattern === 'string') {
    try {
      parsed = JSON.parse(pattern);
    } catch (error) {
      throw new FilterPatternError(`filter pattern is not JSON: ${pattern}`, { cause: error });
    }
  }
  return compileObject(parsed, '$');
}

/** A record passes when any pattern matches; with no patterns every record passes. */
export function compileFilterCriteria(patterns: ReadonlyArray<string>): RecordMatcher {
  if (patterns.length === 0) return () => true;
  const matchers = patterns.map((pattern) => compileFilterPattern(pattern));
  return (record) => matchers.some((matcher) => matcher(record));
}
