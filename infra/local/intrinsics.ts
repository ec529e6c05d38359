/**
 * CloudFormation intrinsic functions, resolved against a scope that knows the physical values
 * of the template's resources. Pure: the scope decides what `Ref` and `Fn::GetAtt` mean.
 *
 * Supported: `Ref`, `Fn::GetAtt` (array or "Id.Attr" form), `Fn::Join`, `Fn::Sub` (string and
 * [string, variables] forms, `${!Literal}` escapes), `Fn::Select`, `Fn::Split`, and
 * `AWS::NoValue` (drops the property or list element). Anything else is a TemplateError.
 */
import { TemplateError } from './errors.js';

export interface IntrinsicScope {
  /** The value of `Ref` to a logical id, a parameter or a pseudo parameter. */
  ref(name: string): unknown;
  /** The value of `Fn::GetAtt` [logicalId, attribute]. */
  getAtt(logicalId: string, attribute: string): unknown;
}

const NO_VALUE = 'AWS::NoValue';
const PSEUDO_PARAMETER_PREFIX = 'AWS::';

/** Marks a value that `AWS::NoValue` removed; never escapes `resolveIntrinsics`. */
const REMOVED: unique symbol = Symbol('AWS::NoValue');

type IntrinsicName = 'Ref' | 'Fn::GetAtt' | 'Fn::Join' | 'Fn::Sub' | 'Fn::Select' | 'Fn::Split';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The single key of an intrinsic function object (`{ "Fn::Join": [...] }`), if it is one. */
function intrinsicKey(value: Record<string, unknown>): string | undefined {
  const keys = Object.keys(value);
  if (keys.length !== 1) return undefined;
  const [key] = keys as [string];
  return key === 'Ref' || key.startsWith('Fn::') ? key : undefined;
}

function fail(path: string, message: string): never {
  throw new TemplateError(`${path}: ${message}`);
}

function asString(value: unknown, path: string, what: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return fail(path, `${what} must resolve to a string, got ${JSON.stringify(value)}`);
}

function asArray(value: unknown, path: string, what: string): unknown[] {
  if (Array.isArray(value)) return value;
  return fail(path, `${what} must be a list, got ${JSON.stringify(value)}`);
}

function parseGetAtt(argument: unknown, path: string): [string, string] {
  if (typeof argument === 'string') {
    const dot = argument.indexOf('.');
    if (dot <= 0) fail(path, `Fn::GetAtt "${argument}" must be "LogicalId.Attribute"`);
    return [argument.slice(0, dot), argument.slice(dot + 1)];
  }
  const [logicalId, attribute] = asArray(argument, path, 'Fn::GetAtt');
  if (typeof logicalId !== 'string' || typeof attribute !== 'string') {
    return fail(path, `Fn::GetAtt needs [logicalId, attribute], got ${JSON.stringify(argument)}`);
  }
  return [logicalId, attribute];
}

const SUB_PLACEHOLDER = /\$\{([^}]*)\}/g;

function substitute(
  template: string,
  variables: Record<string, unknown>,
  scope: IntrinsicScope,
  path: string,
): string {
  return template.replace(SUB_PLACEHOLDER, (_match, inner: string) => {
    if (inner.startsWith('!')) return `\${${inner.slice(1)}}`;
    if (Object.hasOwn(variables, inner)) return asString(variables[inner], path, `Fn::Sub variable ${inner}`);
    const dot = inner.indexOf('.');
    if (dot > 0 && !inner.startsWith(PSEUDO_PARAMETER_PREFIX)) {
      return asString(scope.getAtt(inner.slice(0, dot), inner.slice(dot + 1)), path, `Fn::Sub \${${inner}}`);
    }
    return asString(scope.ref(inner), path, `Fn::Sub \${${inner}}`);
  });
}

function resolveFunction(name: string, argument: unknown, scope: IntrinsicScope, path: string): unknown {
  const at = `${path}.${name}`;
  switch (name as IntrinsicName) {
    case 'Ref': {
      const target = asString(argument, at, 'Ref');
      return target === NO_VALUE ? REMOVED : scope.ref(target);
    }
    case 'Fn::GetAtt': {
      const [logicalId, attribute] = parseGetAtt(argument, at);
      return scope.getAtt(logicalId, attribute);
    }
    case 'Fn::Join': {
      const [delimiter, list] = asArray(argument, at, 'Fn::Join');
      const separator = asString(delimiter, at, 'Fn::Join delimiter');
      const parts = asArray(resolveValue(list, scope, `${at}[1]`), at, 'Fn::Join list');
      return parts
        .map((part, index) => asString(part, `${at}[1][${index}]`, 'Fn::Join element'))
        .join(separator);
    }
    case 'Fn::Sub': {
      if (typeof argument === 'string') return substitute(argument, {}, scope, at);
      const [template, variables] = asArray(argument, at, 'Fn::Sub');
      const resolvedVariables = resolveValue(variables ?? {}, scope, `${at}[1]`);
      if (!isRecord(resolvedVariables)) return fail(at, 'Fn::Sub variables must be an object');
      return substitute(asString(template, at, 'Fn::Sub template'), resolvedVariables, scope, at);
    }
    case 'Fn::Select': {
      const [index, list] = asArray(argument, at, 'Fn::Select');
      const position = Number(resolveValue(index, scope, `${at}[0]`));
      const items = asArray(resolveValue(list, scope, `${at}[1]`), at, 'Fn::Select list');
      if (!Number.isInteger(position) || position < 0 || position >= items.length) {
        return fail(at, `Fn::Select index ${String(index)} is outside the list of ${items.length}`);
      }
      return items[position];
    }
    case 'Fn::Split': {
      const [delimiter, source] = asArray(argument, at, 'Fn::Split');
      const separator = asString(delimiter, at, 'Fn::Split delimiter');
      return asString(resolveValue(source, scope, `${at}[1]`), at, 'Fn::Split source').split(separator);
    }
    default:
      return fail(at, `intrinsic function ${name} is not supported by the embedded runtime`);
  }
}

function resolveValue(value: unknown, scope: IntrinsicScope, path: string): unknown {
  if (Array.isArray(value)) {
    return value
      .map((item, index) => resolveValue(item, scope, `${path}[${index}]`))
      .filter((item) => item !== REMOVED);
  }
  if (!isRecord(value)) return value;
  const key = intrinsicKey(value);
  if (key !== undefined) return resolveFunction(key, value[key], scope, path);
  const resolved: Record<string, unknown> = {};
  for (const [name, item] of Object.entries(value)) {
    const result = resolveValue(item, scope, `${path}.${name}`);
    if (result !== REMOVED) resolved[name] = result;
  }
  return resolved;
}

/** Resolves every intrinsic inside `value`; `path` prefixes error messages (e.g. "Queue.Properties"). */
export function resolveIntrinsics(value: unknown, scope: IntrinsicScope, path = '$'): unknown {
  const resolved = resolveValue(value, scope, path);
  if (resolved === REMOVED) return undefined;
  return resolved;
}

/**
 * The logical ids `value` refers to through `Ref`, `Fn::GetAtt` and `Fn::Sub` placeholders,
 * pseudo parameters excluded. Used to order resource creation and to find the function
 * behind an integration URI.
 */
export function referencedLogicalIds(value: unknown): Set<string> {
  const found = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item);
      return;
    }
    if (!isRecord(node)) return;
    const key = intrinsicKey(node);
    const argument = key === undefined ? undefined : node[key];
    if (key === 'Ref' && typeof argument === 'string') {
      if (!argument.startsWith(PSEUDO_PARAMETER_PREFIX)) found.add(argument);
      return;
    }
    if (key === 'Fn::GetAtt') {
      const [logicalId] = parseGetAtt(argument, 'Fn::GetAtt');
      found.add(logicalId);
      return;
    }
    if (key === 'Fn::Sub') {
      const [template, variables] =
        typeof argument === 'string' ? [argument, {}] : asArray(argument, 'Fn::Sub', 'Fn::Sub');
      const names = isRecord(variables) ? new Set(Object.keys(variables)) : new Set<string>();
      for (const match of String(template).matchAll(SUB_PLACEHOLDER)) {
        const inner = match[1] ?? '';
        if (inner.startsWith('!') || inner.startsWith(PSEUDO_PARAMETER_PREFIX) || names.has(inner)) continue;
        found.add(inner.split('.')[0] ?? inner);
      }
      visit(variables);
      return;
    }
    for (const item of Object.values(node)) visit(item);
  };
  visit(value);
  return found;
}

/**
 * The logical id a property points at when it is exactly `{ Ref: id }` or
 * `{ Fn::GetAtt: [id, attribute] }`; undefined for literals and composite expressions.
 */
export function directReference(value: unknown): { logicalId: string; attribute: string | null } | undefined {
  if (!isRecord(value)) return undefined;
  const key = intrinsicKey(value);
  if (key === 'Ref' && typeof value.Ref === 'string' && !value.Ref.startsWith(PSEUDO_PARAMETER_PREFIX)) {
    return { logicalId: value.Ref, attribute: null };
  }
  if (key === 'Fn::GetAtt') {
    const [logicalId, attribute] = parseGetAtt(value[key], 'Fn::GetAtt');
    return { logicalId, attribute };
  }
  return undefined;
}
