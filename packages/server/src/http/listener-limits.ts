import type { Server } from 'node:http';

/** Limits that keep slow or piling-up clients from holding a listener (the API's and the gateway's). */
export interface ListenerLimits {
  /** Open connections accepted at once; further ones are closed at once. */
  maxConnections: number;
  /** Longest time to receive a request's headers, in ms (a slow-header client is cut off with 408). */
  headersTimeoutMs: number;
  /** Longest time to receive a whole request, headers and body, in ms. */
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection stays open after a response, in ms. */
  keepAliveTimeoutMs: number;
  /** Closes a connection with no traffic either way for this long, in ms; 0 leaves it open (long streams). */
  idleTimeoutMs: number;
}

/** Applies the limits to a Node HTTP server; call before it listens. */
export function applyListenerLimits(server: Server, limits: Readonly<ListenerLimits>): void {
  server.maxConnections = limits.maxConnections;
  server.requestTimeout = limits.requestTimeoutMs;
  server.headersTimeout = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.setTimeout(limits.idleTimeoutMs);
  // Node enforces both time-outs on a timer (every 30 s by default), read when the server starts
  // listening: run it often enough for the configured time-outs to mean what they say. (A property
  // Node reads but @types/node declares only as a constructor option.)
  Object.assign(server, {
    connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(server.headersTimeout / 4))),
  });
}
