/**
 * API Gateway REST routing over the template's resources: the most specific resource path
 * wins (a literal segment over `{param}`, `{param}` over a greedy `{proxy+}`), then the exact
 * method, then `ANY`. Pure.
 */
import type { RouteWiring } from './types.js';

type Segment =
  | { kind: 'literal'; text: string }
  | { kind: 'param'; name: string }
  | { kind: 'greedy'; name: string };

interface Resource {
  path: string;
  segments: Segment[];
  methods: Map<string, RouteWiring>;
}

export interface RouteMatch {
  route: RouteWiring;
  pathParameters: Record<string, string>;
}

export type RouteLookup = { kind: 'matched'; match: RouteMatch } | { kind: 'not-found' };

const SPECIFICITY = { literal: 0, param: 1, greedy: 2 } as const;

function parseSegment(text: string): Segment {
  const param = /^\{([^{}+]+)(\+?)\}$/.exec(text);
  if (!param) return { kind: 'literal', text };
  const name = param[1] ?? '';
  return param[2] === '+' ? { kind: 'greedy', name } : { kind: 'param', name };
}

function splitPath(path: string): string[] {
  return path.split('/').filter((segment) => segment !== '');
}

/** Path parameters if `resource` matches the request segments, else undefined. */
function bind(resource: Resource, requested: readonly string[]): Record<string, string> | undefined {
  const parameters: Record<string, string> = {};
  for (const [index, segment] of resource.segments.entries()) {
    if (segment.kind === 'greedy') {
      const rest = requested.slice(index);
      if (rest.length === 0) return undefined;
      parameters[segment.name] = rest.join('/');
      return parameters;
    }
    const value = requested[index];
    if (value === undefined) return undefined;
    if (segment.kind === 'literal' && segment.text !== value) return undefined;
    if (segment.kind === 'param') parameters[segment.name] = value;
  }
  return resource.segments.length === requested.length ? parameters : undefined;
}

/** Negative when `a` is more specific than `b`, comparing segment kinds left to right. */
function bySpecificity(a: Resource, b: Resource): number {
  const length = Math.max(a.segments.length, b.segments.length);
  for (let index = 0; index < length; index += 1) {
    const left = a.segments[index];
    const right = b.segments[index];
    if (left === undefined || right === undefined) return left === undefined ? 1 : -1;
    const difference = SPECIFICITY[left.kind] - SPECIFICITY[right.kind];
    if (difference !== 0) return difference;
  }
  return 0;
}

export class RouteTable {
  readonly #resources: Resource[];

  constructor(readonly routes: readonly RouteWiring[]) {
    const byPath = new Map<string, Resource>();
    for (const route of routes) {
      const resource = byPath.get(route.path) ?? {
        path: route.path,
        segments: splitPath(route.path).map(parseSegment),
        methods: new Map<string, RouteWiring>(),
      };
      resource.methods.set(route.method, route);
      byPath.set(route.path, resource);
    }
    this.#resources = [...byPath.values()].sort(bySpecificity);
  }

  /** `segments`: the request path without the stage, split at '/' and percent-decoded. */
  lookup(method: string, segments: readonly string[]): RouteLookup {
    for (const resource of this.#resources) {
      const pathParameters = bind(resource, segments);
      if (pathParameters === undefined) continue;
      const route = resource.methods.get(method) ?? resource.methods.get('ANY');
      // API Gateway does not fall back to a less specific resource when the method is missing.
      return route === undefined
        ? { kind: 'not-found' }
        : { kind: 'matched', match: { route, pathParameters } };
    }
    return { kind: 'not-found' };
  }
}
