/** Matches a request to a route of events/routes.ts: method and path template (`{param}` segments). */
import { ROUTES, type RouteSpec } from '../../events/index.js';

export type RouteMatch =
  | { kind: 'matched'; route: RouteSpec; params: Record<string, string> }
  | { kind: 'method-not-allowed'; allowed: RouteSpec['method'][] }
  | { kind: 'not-found' };

interface CompiledRoute {
  route: RouteSpec;
  segments: ({ literal: string } | { param: string })[];
}

function segmentsOf(path: string): string[] {
  return path.split('/').filter((segment) => segment !== '');
}

function compile(route: RouteSpec): CompiledRoute {
  return {
    route,
    segments: segmentsOf(route.path).map((segment) => {
      const param = /^\{([A-Za-z][A-Za-z0-9]*)\}$/.exec(segment);
      return param ? { param: param[1]! } : { literal: segment };
    }),
  };
}

function bind(compiled: CompiledRoute, requested: readonly string[]): Record<string, string> | undefined {
  if (compiled.segments.length !== requested.length) return undefined;
  const params: Record<string, string> = {};
  for (const [index, segment] of compiled.segments.entries()) {
    const value = requested[index]!;
    if ('literal' in segment) {
      if (segment.literal !== value) return undefined;
    } else {
      params[segment.param] = value;
    }
  }
  return params;
}

/** A literal segment beats a parameter at the first place two templates differ (API Gateway's rule). */
function specificity(compiled: CompiledRoute): string {
  return compiled.segments.map((segment) => ('literal' in segment ? '0' : '1')).join('');
}

export class Router {
  readonly #routes: CompiledRoute[];

  constructor(routes: readonly RouteSpec[] = ROUTES) {
    this.#routes = routes.map(compile).sort((a, b) => specificity(a).localeCompare(specificity(b)));
  }

  /** The route for `method` on `path` (without the stage), with its path parameters as given. */
  match(method: string, path: string): RouteMatch {
    const requested = segmentsOf(path);
    const candidates = this.#routes.flatMap((compiled) => {
      const params = bind(compiled, requested);
      return params ? [{ compiled, params }] : [];
    });
    if (candidates.length === 0) return { kind: 'not-found' };
    const best = specificity(candidates[0]!.compiled);
    const onPath = candidates.filter((candidate) => specificity(candidate.compiled) === best);
    const hit = onPath.find((candidate) => candidate.compiled.route.method === method.toUpperCase());
    if (hit) return { kind: 'matched', route: hit.compiled.route, params: hit.params };
    return {
      kind: 'method-not-allowed',
      allowed: onPath.map((candidate) => candidate.compiled.route.method),
    };
  }
}
