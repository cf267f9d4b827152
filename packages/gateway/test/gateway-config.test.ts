import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@keyroll/core';
import { loadGatewayConfig, parseGatewayConfig } from '@keyroll/gateway';
import { describe, expect, it } from 'vitest';
import { RouteTable } from '../src/route-table.js';

const up = 'http://127.0.0.1:9000';

describe('gateway configuration', () => {
  it('fills defaults and normalises prefixes, methods and upstreams', () => {
    const { routes } = parseGatewayConfig({
      routes: [
        { pathPrefix: '/api/', upstream: 'http://127.0.0.1:9000/', scopes: ['read'], methods: ['get'] },
        { pathPrefix: '/', upstream: 'https://example.com' },
      ],
    });
    expect(routes[0]).toEqual({
      pathPrefix: '/api',
      upstream: up,
      scopes: ['read'],
      methods: ['GET', 'HEAD'],
      cost: 1,
      timeoutMs: 30_000,
    });
    expect(routes[1]).toMatchObject({ pathPrefix: '/', upstream: 'https://example.com', scopes: [], methods: null });
  });

  it('holds prefixes in canonical form, as requests are matched', () => {
    const prefixes = ['/%61pi', '/caf%c3%a9/', '/v2//admin', '//'].map(
      (pathPrefix) => parseGatewayConfig({ routes: [{ pathPrefix, upstream: up }] }).routes[0]?.pathPrefix,
    );
    expect(prefixes).toEqual(['/api', '/caf%C3%A9', '/v2/admin', '/']);
  });

  it('reads trusted proxies from the file and from KEYROLL_GATEWAY_TRUSTED_PROXIES', () => {
    const inline = JSON.stringify({ routes: [{ pathPrefix: '/a', upstream: up }], trustedProxies: ['10.0.0.0/8'] });
    expect(parseGatewayConfig(JSON.parse(inline)).trustedProxies).toEqual(['10.0.0.0/8']);
    expect(loadGatewayConfig(inline, ' 192.0.2.1 , 2001:db8::/32,').trustedProxies).toEqual([
      '10.0.0.0/8',
      '192.0.2.1',
      '2001:db8::/32',
    ]);
    expect(loadGatewayConfig(inline).trustedProxies).toEqual(['10.0.0.0/8']);
    expect(() => loadGatewayConfig(inline, '10.0.0.0/8, 300.1.1.1')).toThrow(
      /KEYROLL_GATEWAY_TRUSTED_PROXIES: "300\.1\.1\.1" is not an address or CIDR range/,
    );
  });

  it.each([
    [null, /must be an object \{"routes": \[\.\.\.\]\}/],
    [{ routes: [] }, /routes must hold at least one route/],
    [{ routes: [], extra: 1 }, /unknown field\(s\) extra/],
    [{ routes: [{ pathPrefix: '/a', upstream: up, scope: ['x'] }] }, /routes\[0\] has unknown field\(s\) scope/],
    [
      { routes: [{ pathPrefix: 'api', upstream: up }] },
      /routes\[0\]\.pathPrefix must be a path starting with \/ \(got "api"\)/,
    ],
    [{ routes: [{ pathPrefix: '/a/../b', upstream: up }] }, /routes\[0\]\.pathPrefix must be a plain path/],
    [{ routes: [{ pathPrefix: '/a;b', upstream: up }] }, /routes\[0\]\.pathPrefix must be a plain path: .*;/],
    [{ routes: [{ pathPrefix: '/a%2fb', upstream: up }] }, /routes\[0\]\.pathPrefix must be a plain path: .*encoded/],
    [{ routes: [{ pathPrefix: '/café', upstream: up }] }, /routes\[0\]\.pathPrefix must be a plain path/],
    [{ routes: [{ pathPrefix: '/a?b', upstream: up }] }, /routes\[0\]\.pathPrefix must be a plain path without \?/],
    [
      { routes: [{ pathPrefix: '/a', upstream: up }], trustedProxies: ['10.0.0.0/8', 'nope'] },
      /trustedProxies must be an array of addresses or CIDR ranges/,
    ],
    [{ routes: [{ pathPrefix: '/a' }] }, /routes\[0\]\.upstream must be a URL .* \(got nothing\)/],
    [{ routes: [{ pathPrefix: '/a', upstream: 'ftp://x' }] }, /routes\[0\]\.upstream must use http or https/],
    [{ routes: [{ pathPrefix: '/a', upstream: `${up}/v1` }] }, /routes\[0\]\.upstream must be an origin only/],
    [
      { routes: [{ pathPrefix: '/a', upstream: up, scopes: ['Bad Scope'] }] },
      /routes\[0\]\.scopes must be an array of scopes/,
    ],
    [
      { routes: [{ pathPrefix: '/a', upstream: up, methods: ['GE T'] }] },
      /routes\[0\]\.methods holds an invalid method "GE T"/,
    ],
    [{ routes: [{ pathPrefix: '/a', upstream: up, methods: [] }] }, /routes\[0\]\.methods must be a non-empty array/],
    [
      { routes: [{ pathPrefix: '/a', upstream: up, cost: -1 }] },
      /routes\[0\]\.cost must be an integer from 0 to 1000000 \(got -1\)/,
    ],
    [{ routes: [{ pathPrefix: '/a', upstream: up, timeoutMs: 0 }] }, /routes\[0\]\.timeoutMs must be an integer/],
    [
      {
        routes: [
          { pathPrefix: '/a', upstream: up, methods: ['GET'] },
          { pathPrefix: '/a/', upstream: up, methods: ['POST', 'GET'] },
        ],
      },
      /routes\[1\] overlaps routes\[0\]: same pathPrefix \/a and shared methods/,
    ],
  ])('refuses %j with a message naming the field', (input, message) => {
    expect(() => parseGatewayConfig(input)).toThrow(ConfigError);
    expect(() => parseGatewayConfig(input)).toThrow(message);
  });

  it('reads inline JSON or a file, and says which is broken', () => {
    const inline = JSON.stringify({ routes: [{ pathPrefix: '/a', upstream: up }] });
    expect(loadGatewayConfig(inline).routes).toHaveLength(1);
    const dir = mkdtempSync(join(tmpdir(), 'keyroll-gw-'));
    const file = join(dir, 'gateway.json');
    writeFileSync(file, inline);
    expect(loadGatewayConfig(file).routes[0]?.upstream).toBe(up);
    writeFileSync(file, '{"routes": [');
    expect(() => loadGatewayConfig(file)).toThrow(new RegExp(`KEYROLL_GATEWAY_CONFIG: ${file} is not valid JSON`));
    expect(() => loadGatewayConfig('{nope')).toThrow(/KEYROLL_GATEWAY_CONFIG: the value is not valid JSON/);
    expect(() => loadGatewayConfig(join(dir, 'missing.json'))).toThrow(/KEYROLL_GATEWAY_CONFIG: cannot read/);
  });
});

describe('route table', () => {
  const table = new RouteTable(
    parseGatewayConfig({
      routes: [
        { pathPrefix: '/', upstream: up },
        { pathPrefix: '/api', upstream: up, scopes: ['read'] },
        { pathPrefix: '/api/v2', upstream: up, scopes: ['v2'], methods: ['POST'] },
      ],
    }).routes,
  );
  const scopesOf = (path: string, method = 'GET') => {
    const m = table.match(path, method);
    return m.kind === 'route' ? m.route.scopes : m.kind;
  };

  it('picks the longest prefix on segment boundaries', () => {
    expect(scopesOf('/api')).toEqual(['read']);
    expect(scopesOf('/api/')).toEqual(['read']);
    expect(scopesOf('/api/v2x')).toEqual(['read']);
    expect(scopesOf('/apix')).toEqual([]);
    expect(scopesOf('/api/v2/x', 'POST')).toEqual(['v2']);
    expect(scopesOf('/other')).toEqual([]);
  });

  it('refuses a method the longest prefix does not allow, naming those it does', () => {
    expect(table.match('/api/v2/x', 'GET')).toEqual({ kind: 'method', allow: ['POST'] });
    expect(
      new RouteTable(parseGatewayConfig({ routes: [{ pathPrefix: '/a', upstream: up }] }).routes).match('/b', 'GET'),
    ).toEqual({
      kind: 'none',
    });
  });
});

describe('route table letter case', () => {
  const tableOf = (...prefixes: string[]) =>
    new RouteTable(parseGatewayConfig({ routes: prefixes.map((pathPrefix) => ({ pathPrefix, upstream: up })) }).routes);

  it('refuses a path that matches a more specific prefix only when case is ignored', () => {
    const table = tableOf('/v2', '/v2/admin');
    expect(table.match('/v2/ADMIN/x', 'GET')).toEqual({ kind: 'case', prefix: '/v2/admin' });
    expect(table.match('/V2/x', 'GET')).toEqual({ kind: 'case', prefix: '/v2' });
    expect(table.match('/v2/admin/X', 'GET')).toMatchObject({ kind: 'route', route: { pathPrefix: '/v2/admin' } });
    expect(table.match('/v2/adminx', 'GET')).toMatchObject({ kind: 'route', route: { pathPrefix: '/v2' } });
    expect(table.match('/v2admin', 'GET')).toEqual({ kind: 'none' });
    expect(table.match('/V2ADMIN', 'GET')).toEqual({ kind: 'none' });
  });

  it('lets an exact match stand against a prefix of the same length in another case', () => {
    const table = tableOf('/abc', '/ABC');
    expect(table.match('/ABC/x', 'GET')).toMatchObject({ kind: 'route', route: { pathPrefix: '/ABC' } });
    expect(table.match('/abc/x', 'GET')).toMatchObject({ kind: 'route', route: { pathPrefix: '/abc' } });
    expect(table.match('/Abc/x', 'GET')).toMatchObject({ kind: 'case' });
  });
});
