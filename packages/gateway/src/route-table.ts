import type { GatewayRoute } from './gateway-config.js';

/**
 * Where a request goes: a route, no route at all, a route that refuses its method, or a path that
 * matches a more specific prefix only when letter case is ignored (`/v2/ADMIN` against `/v2/admin`).
 */
export type RouteMatch =
  | { kind: 'route'; route: GatewayRoute }
  | { kind: 'none' }
  | { kind: 'method'; allow: readonly string[] }
  | { kind: 'case'; prefix: string };

interface PrefixGroup {
  prefix: string;
  /** The prefix in lower case, for the case-insensitive check. */
  lower: string;
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
      .map(([prefix, group]) => ({
        prefix,
        lower: prefix.toLowerCase(),
        routes: group,
        allow: [...new Set(group.flatMap((r) => r.methods ?? []))],
      }))
      .sort((a, b) => b.prefix.length - a.prefix.length);
  }

  /**
   * Matches a canonical path (without query) and method. Prefixes are tried longest first; one that
   * matches only case-insensitively, before any exact match, is a `case` conflict: an upstream that
   * routes without regard to case (Express does by default) would serve that more specific route.
   */
  match(path: string, method: string): RouteMatch {
    let lower: string | undefined;
    for (const g of this.#groups) {
      if (!underPrefix(path, g.prefix)) {
        lower ??= path.toLowerCase();
        if (underPrefix(lower, g.lower)) {
          if (this.#exactAtLength(path, g.prefix.length)) continue;
          return { kind: 'case', prefix: g.prefix };
        }
        continue;
      }
      const route = g.routes.find((r) => r.methods === null || r.methods.includes(method));
      return route ? { kind: 'route', route } : { kind: 'method', allow: g.allow };
    }
    return { kind: 'none' };
  }

  /** True when a prefix of exactly this length matches the path as written (two prefixes differing in case). */
  #exactAtLength(path: string, length: number): boolean {
    return this.#groups.some((g) => g.prefix.length === length && underPrefix(path, g.prefix));
  }
}

function underPrefix(path: string, prefix: string): boolean {
  if (prefix === '/') return true;
  return path.startsWith(prefix) && (path.length === prefix.length || path.charCodeAt(prefix.length) === 47) /* / */;
}
