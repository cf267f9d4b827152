import type { GatewayRoute } from './gateway-config.js';

/** Where a request goes: a route, no route at all, or a route that refuses its method. */
export type RouteMatch =
  | { kind: 'route'; route: GatewayRoute }
  | { kind: 'none' }
  | { kind: 'method'; allow: readonly string[] };

interface PrefixGroup {
  prefix: string;
  routes: readonly GatewayRoute[];
  allow: readonly string[];
}

/** Finds the route of a request: the longest matching prefix, then the route of that prefix allowing the method. */
export class RouteTable {
  readonly #groups: PrefixGroup[];

  constructor(routes: readonly GatewayRoute[]) {
    const byPrefix = new Map<string, GatewayRoute[]>();
    for (const r of routes) byPrefix.set(r.pathPrefix, [...(byPrefix.get(r.pathPrefix) ?? []), r]);
    this.#groups = [...byPrefix.entries()]
      .map(([prefix, group]) => ({ prefix, routes: group, allow: [...new Set(group.flatMap((r) => r.methods ?? []))] }))
      .sort((a, b) => b.prefix.length - a.prefix.length);
  }

  /** Matches a path (without query) and method. */
  match(path: string, method: string): RouteMatch {
    for (const g of this.#groups) {
      if (!underPrefix(path, g.prefix)) continue;
      const route = g.routes.find((r) => r.methods === null || r.methods.includes(method));
      return route ? { kind: 'route', route } : { kind: 'method', allow: g.allow };
    }
    return { kind: 'none' };
  }
}

function underPrefix(path: string, prefix: string): boolean {
  if (prefix === '/') return true;
  return path.startsWith(prefix) && (path.length === prefix.length || path.charCodeAt(prefix.length) === 47) /* / */;
}
