import { METHODS } from 'node:http';
import type { FastifyInstance } from 'fastify';
import FindMyWay from 'find-my-way';

const NODE_METHODS: ReadonlySet<string> = new Set(METHODS);

/** True for a method Node (and so the router) knows; Fastify's own type also allows lower case. */
function isRouterMethod(method: string): method is FindMyWay.HTTPMethod {
  return NODE_METHODS.has(method);
}

/** Which methods the app answers on a concrete path, for `405 Method Not Allowed` and its `Allow` header. */
export interface RouteMethods {
  /** The methods registered for a request path (query string allowed), sorted; empty when no route has it. */
  allowedOn(url: string): string[];
}

/**
 * Records every route the app registers (call before registering any) in a second router that
 * matches paths exactly as Fastify's does, so a request that found no route can be told whether
 * its path exists under another method.
 */
export function trackRouteMethods(app: FastifyInstance): RouteMethods {
  // Same matching as Fastify's router (its defaults), but never refusing a long parameter.
  const router = FindMyWay({ maxParamLength: Number.MAX_SAFE_INTEGER });
  const methods = new Set<FindMyWay.HTTPMethod>();
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat().map((m) => m.toUpperCase())) {
      // Fastify registers HEAD beside GET itself; a route may also be registered twice (HEAD).
      if (!isRouterMethod(method) || router.hasRoute(method, route.url)) continue;
      router.on(method, route.url, () => undefined);
      methods.add(method);
    }
  });
  return {
    allowedOn(url) {
      return [...methods].filter((method) => router.find(method, url) !== null).sort();
    },
  };
}
