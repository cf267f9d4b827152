import { readFileSync } from 'node:fs';
import { ConfigError, canonicalizePath, isValidScope, parseCidr } from '@keyroll/core';

/** One gateway route: requests under `pathPrefix` go to `upstream` once their key passes. */
export interface GatewayRoute {
  /** Path prefix matched on segment boundaries (`/api` matches `/api` and `/api/x`, not `/apix`). */
  pathPrefix: string;
  /** Origin the request is forwarded to (`http://host:port`); the canonical path and the query are forwarded. */
  upstream: string;
  /** Scopes the key needs; none when empty. */
  scopes: readonly string[];
  /** Methods allowed (upper case); `null` allows every method. */
  methods: readonly string[] | null;
  /** Credits a request costs against the key's limits and quota. */
  cost: number;
  /** Longest wait for the upstream's response headers, and between body chunks, in ms. */
  timeoutMs: number;
}

/** The gateway's configuration: its routes, and the proxies in front of it whose forwarding headers it trusts. */
export interface GatewayConfig {
  routes: readonly GatewayRoute[];
  /** CIDR ranges (or addresses) of trusted proxies: only their `X-Forwarded-*` / `Forwarded` are kept and appended to. */
  trustedProxies: readonly string[];
}

/** Port of the gateway when routes are configured and `KEYROLL_GATEWAY_PORT` is not. */
export const DEFAULT_GATEWAY_PORT = 7071;

/** Upstream wait when a route names none. */
export const DEFAULT_UPSTREAM_TIMEOUT_MS = 30_000;

const ROUTE_FIELDS = new Set(['pathPrefix', 'upstream', 'scopes', 'methods', 'cost', 'timeoutMs']);
const TOP_FIELDS = new Set(['routes', 'trustedProxies']);
const METHOD_RE = /^[A-Z]+$/;
const SOURCE = 'KEYROLL_GATEWAY_CONFIG';

/**
 * Reads the gateway configuration named by `KEYROLL_GATEWAY_CONFIG`: a path to a JSON file, or
 * the JSON itself when the value starts with `{`; `trustedProxies` is the comma-separated value of
 * `KEYROLL_GATEWAY_TRUSTED_PROXIES`, added to the file's list. Throws a {@link ConfigError} naming the field.
 */
export function loadGatewayConfig(value: string, trustedProxies?: string): GatewayConfig {
  const inline = value.trimStart().startsWith('{');
  let text: string;
  try {
    text = inline ? value : readFileSync(value, 'utf8');
  } catch (e) {
    throw new ConfigError(`${SOURCE}: cannot read ${value}: ${e instanceof Error ? e.message : String(e)}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    const where = inline ? 'the value' : value;
    throw new ConfigError(`${SOURCE}: ${where} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  return parseGatewayConfig(parsed, trustedProxyList(trustedProxies));
}

/** The comma-separated addresses / CIDR ranges of `KEYROLL_GATEWAY_TRUSTED_PROXIES` (or of `name`); throws a {@link ConfigError} on a bad entry. */
export function trustedProxyList(value: string | undefined, name = 'KEYROLL_GATEWAY_TRUSTED_PROXIES'): string[] {
  const list = (value ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  for (const t of list) {
    if (parseCidr(t) === null) {
      throw new ConfigError(`${name}: ${show(t)} is not an address or CIDR range`);
    }
  }
  return list;
}

/** Validates a parsed gateway configuration, with defaults filled in; `extraTrustedProxies` are added to its list. */
export function parseGatewayConfig(input: unknown, extraTrustedProxies: readonly string[] = []): GatewayConfig {
  if (!isRecord(input) || !Array.isArray(input.routes)) fail('', 'must be an object {"routes": [...]}');
  const unknownTop = Object.keys(input).filter((k) => !TOP_FIELDS.has(k));
  if (unknownTop.length > 0) fail('', `has unknown field(s) ${unknownTop.join(', ')}`);
  if (input.routes.length === 0) fail('routes', 'must hold at least one route');
  const routes = input.routes.map((r: unknown, i: number) => parseRoute(r, `routes[${i}]`));
  checkOverlaps(routes);
  const trusted = [...parseTrustedProxies(input.trustedProxies, 'trustedProxies'), ...extraTrustedProxies];
  return Object.freeze({ routes: Object.freeze(routes), trustedProxies: Object.freeze([...new Set(trusted)]) });
}

function parseTrustedProxies(value: unknown, at: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string' && parseCidr(v) !== null)) {
    fail(at, `must be an array of addresses or CIDR ranges such as ["10.0.0.0/8"] (got ${show(value)})`);
  }
  return value;
}

function parseRoute(input: unknown, at: string): GatewayRoute {
  if (!isRecord(input)) fail(at, 'must be an object');
  const unknown = Object.keys(input).filter((k) => !ROUTE_FIELDS.has(k));
  if (unknown.length > 0) fail(at, `has unknown field(s) ${unknown.join(', ')}`);
  return Object.freeze({
    pathPrefix: parsePrefix(input.pathPrefix, `${at}.pathPrefix`),
    upstream: parseUpstream(input.upstream, `${at}.upstream`),
    scopes: Object.freeze(parseScopes(input.scopes, `${at}.scopes`)),
    methods: parseMethods(input.methods, `${at}.methods`),
    cost: parseInteger(input.cost, `${at}.cost`, 1, 0, 1_000_000),
    timeoutMs: parseInteger(input.timeoutMs, `${at}.timeoutMs`, DEFAULT_UPSTREAM_TIMEOUT_MS, 1, 3_600_000),
  });
}

function parsePrefix(value: unknown, at: string): string {
  if (typeof value !== 'string' || !value.startsWith('/'))
    fail(at, `must be a path starting with / (got ${show(value)})`);
  if (value.includes('?')) fail(at, `must be a plain path without ? (got ${show(value)})`);
  // Requests are matched in canonical form, so the prefix is held in it too.
  const canonical = canonicalizePath(value);
  if (!canonical.ok) fail(at, `must be a plain path: ${canonical.detail} (got ${show(value)})`);
  // A trailing slash would make `/api/` miss `/api`; segment matching makes it redundant.
  return canonical.path.length > 1 ? canonical.path.replace(/\/+$/, '') : canonical.path;
}

function parseUpstream(value: unknown, at: string): string {
  if (typeof value !== 'string') fail(at, `must be a URL such as http://127.0.0.1:9000 (got ${show(value)})`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    fail(at, `must be a URL such as http://127.0.0.1:9000 (got ${show(value)})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') fail(at, `must use http or https (got ${show(value)})`);
  if (url.pathname !== '/' || url.search || url.hash || url.username || url.password) {
    fail(at, `must be an origin only, without path, query or credentials (got ${show(value)})`);
  }
  return url.origin;
}

function parseScopes(value: unknown, at: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((s): s is string => typeof s === 'string' && isValidScope(s))) {
    fail(at, `must be an array of scopes such as ["read", "orders:write"] (got ${show(value)})`);
  }
  return [...new Set(value)];
}

function parseMethods(value: unknown, at: string): readonly string[] | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value) || value.length === 0)
    fail(at, `must be a non-empty array of methods (got ${show(value)})`);
  const methods = value.map((m) => (typeof m === 'string' ? m.toUpperCase() : ''));
  const bad = methods.findIndex((m) => !METHOD_RE.test(m));
  if (bad >= 0) fail(at, `holds an invalid method ${show(value[bad])}`);
  // HEAD is served wherever GET is, as HTTP expects.
  if (methods.includes('GET') && !methods.includes('HEAD')) methods.push('HEAD');
  return Object.freeze([...new Set(methods)]);
}

function parseInteger(value: unknown, at: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(at, `must be an integer from ${min} to ${max} (got ${show(value)})`);
  }
  return value;
}

/** Routes on one prefix must split the methods between them, or the choice would be ambiguous. */
function checkOverlaps(routes: readonly GatewayRoute[]): void {
  routes.forEach((a, i) => {
    routes.slice(0, i).forEach((b, j) => {
      if (a.pathPrefix !== b.pathPrefix) return;
      const shared = a.methods === null || b.methods === null || a.methods.some((m) => b.methods?.includes(m));
      if (shared) fail(`routes[${i}]`, `overlaps routes[${j}]: same pathPrefix ${a.pathPrefix} and shared methods`);
    });
  });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  return v === undefined ? 'nothing' : JSON.stringify(v);
}

function fail(at: string, message: string): never {
  throw new ConfigError(`${SOURCE}: ${at ? `${at} ` : ''}${message}`);
}
