import fc from 'fast-check';
import {
  badDuration,
  FIELD_VALUES,
  goodDuration,
  nastyString,
  nastyValue,
  oddDate,
  ref,
  refOf,
  rootKeyRef,
} from './values.js';

/** As much of a JSON schema as the fuzz reads from the OpenAPI document. */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  anyOf?: JsonSchema[];
  enum?: unknown[];
  items?: JsonSchema;
  format?: string;
  description?: string;
  default?: unknown;
}

/** One operation of the API, read from its OpenAPI document. */
export interface Operation {
  method: string;
  /** The path template, `{name}` for parameters. */
  path: string;
  query: { name: string; schema: JsonSchema }[];
  body: JsonSchema | null;
}

/** A generated request; its strings may hold `@@pool.n@@` placeholders the run resolves. */
export interface FuzzCase {
  /** Which generation strategy made it (for the report). */
  strategy: string;
  method: string;
  target: string;
  headers: Record<string, string>;
  body?: string;
  /** `latin1` carries arbitrary bytes (invalid UTF-8); the default is UTF-8 text. */
  bodyEncoding?: 'utf8' | 'latin1';
}

/** A copy of `node` with every local `$ref` replaced by what it points to (shared schemas are components). */
function inlineRefs(node: unknown, root: unknown, depth = 0): unknown {
  if (depth > 20) return {};
  if (Array.isArray(node)) return node.map((v) => inlineRefs(v, root, depth + 1));
  if (node === null || typeof node !== 'object') return node;
  const $ref = '$ref' in node ? node.$ref : undefined;
  const rest = Object.fromEntries(Object.entries(node).filter(([k]) => k !== '$ref'));
  const target =
    typeof $ref === 'string' && $ref.startsWith('#/')
      ? $ref
          .slice(2)
          .split('/')
          .reduce<any>((at, key) => at?.[key], root)
      : undefined;
  const merged = target && typeof target === 'object' ? { ...target, ...rest } : rest;
  return Object.fromEntries(Object.entries(merged).map(([k, v]) => [k, inlineRefs(v, root, depth + 1)]));
}

/**
 * The operations of an OpenAPI 3 document, but event streams (`GET /v1/data-plane/changes`): an
 * accepted request never ends by design, and `inject` waits for the end (its refusals are tested
 * in `packages/server/test/data-plane`).
 */
export function operationsOf(document: any): Operation[] {
  const openapi: any = { paths: inlineRefs(document.paths ?? {}, document) };
  const ops: Operation[] = [];
  for (const [path, methods] of Object.entries<Record<string, any>>(openapi.paths ?? {})) {
    for (const [method, op] of Object.entries<any>(methods)) {
      if (op.responses?.['200']?.content?.['text/event-stream']) continue;
      const parameters: any[] = op.parameters ?? [];
      ops.push({
        method: method.toUpperCase(),
        path,
        query: parameters
          .filter((p) => p.in === 'query')
          .map((p) => ({ name: String(p.name), schema: p.schema ?? {} })),
        body: op.requestBody?.content?.['application/json']?.schema ?? null,
      });
    }
  }
  return ops;
}

const isDuration = (s: JsonSchema): boolean => /seconds, or a string/.test(s.description ?? '');

/** The non-null type of a schema (`["string", "null"]` → `string`). */
function typeOf(s: JsonSchema): string | undefined {
  return Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type;
}

/** A value the schema accepts (and, for fields the contract names, one that means something). */
export function validValue(schema: JsonSchema, field?: string): fc.Arbitrary<unknown> {
  const known = field === undefined ? undefined : FIELD_VALUES[field];
  if (known && typeOf(schema) !== 'object') return known;
  if (isDuration(schema)) return goodDuration;
  if (schema.enum && schema.enum.length > 0) return fc.constantFrom(...schema.enum);
  if (schema.anyOf && schema.anyOf.length > 0) return fc.oneof(...schema.anyOf.map((s) => validValue(s, field)));
  switch (typeOf(schema)) {
    case 'object':
      return validObject(schema);
    case 'array':
      return fc.array(validValue(schema.items ?? {}), { maxLength: 3 });
    case 'integer':
    case 'number':
      return fc.constantFrom(1, 10, 100);
    case 'boolean':
      return fc.boolean();
    case 'string':
      return schema.format === 'date-time' ? fc.constant('2030-01-01T00:00:00Z') : fc.constantFrom('fuzz', 'a');
    default:
      return fc.constantFrom<unknown>('fuzz', 1, null);
  }
}

/** An object with every required property and some optional ones, each valid. */
export function validObject(schema: JsonSchema): fc.Arbitrary<Record<string, unknown>> {
  const properties = schema.properties ?? {};
  const required = new Set(schema.required ?? []);
  const entries = Object.entries(properties).map(([name, s]) =>
    fc.tuple(fc.constant(name), validValue(s, name), required.has(name) ? fc.constant(true) : fc.boolean()),
  );
  return fc.tuple(...entries).map((es) => Object.fromEntries(es.filter(([, , keep]) => keep).map(([n, v]) => [n, v])));
}

/** Paths (property names) into a schema's objects, up to three levels deep. */
export function fieldPaths(schema: JsonSchema, depth = 0): string[][] {
  if (depth > 2) return [];
  const nonNull = schema.anyOf?.find((s) => typeOf(s) === 'object') ?? schema;
  const paths: string[][] = [];
  for (const [name, s] of Object.entries(nonNull.properties ?? {})) {
    paths.push([name]);
    for (const sub of fieldPaths(s, depth + 1)) paths.push([name, ...sub]);
  }
  return paths;
}

/** Returns a copy of `body` with the value at `path` replaced (intermediate objects created as needed). */
function setAt(body: unknown, path: string[], value: unknown): unknown {
  const [head, ...rest] = path;
  if (head === undefined) return value;
  const base: Record<string, unknown> =
    body !== null && typeof body === 'object' && !Array.isArray(body) ? { ...body } : {};
  base[head] = setAt(base[head], rest, value);
  return base;
}

/** Returns a copy of `body` without the top-level field `name`. */
function without(body: Record<string, unknown>, name: string): Record<string, unknown> {
  const { [name]: _dropped, ...rest } = body;
  return rest;
}

/** Raw JSON literals JSON.stringify cannot produce, spliced into an otherwise valid body. */
const RAW_LITERALS = [
  '1e999',
  '-1e999',
  '-0',
  '1E400',
  '123456789012345678901234567890',
  '0.0000000000000000000000001',
  'NaN',
  'Infinity',
  'undefined',
  '01',
  '.5',
  '1.',
  '+1',
  '0x1F',
  '"\\ud800"',
  '"\\u0000"',
  '"\\x41"',
  "'single'",
];

/** A body for an operation: valid, valid with one field wrong, or not JSON at all. */
export function bodyFor(op: Operation): fc.Arbitrary<{ text: string; encoding?: 'latin1' }> {
  const schema = op.body ?? { type: 'object', properties: {} };
  const valid = validObject(schema);
  const paths = fieldPaths(schema);
  const pathArb = paths.length > 0 ? fc.constantFrom(...paths) : fc.constant<string[]>(['extra']);
  const json = (v: unknown) => ({ text: JSON.stringify(v) ?? 'null' });
  const mutated = fc.tuple(valid, pathArb, nastyValue, fc.nat(9)).map(([body, path, value, kind]) => {
    if (kind === 0) return json(without(body, path[0] ?? ''));
    if (kind === 1) return json({ ...body, [`x${path.join('_')}`]: value });
    if (kind === 2) return json(value);
    if (kind === 3) return json(setAt(body, path, [value]));
    return json(setAt(body, path, value));
  });
  const spliced = fc.tuple(valid, pathArb, fc.constantFrom(...RAW_LITERALS)).map(([body, path, raw]) => ({
    text: (JSON.stringify(setAt(body, path, '@@RAW@@')) ?? '').replace('"@@RAW@@"', raw),
  }));
  const typedField = fc.tuple(valid, pathArb, badDuration, oddDate).map(([body, path, d, date]) => {
    // The field's own kind of wrong: a bad duration where durations go, a bad date where dates go.
    const last = path.at(-1) ?? '';
    return json(setAt(body, path, /At$/.test(last) ? date : d));
  });
  return fc.oneof(
    { weight: 3, arbitrary: valid.map(json) },
    { weight: 8, arbitrary: mutated },
    { weight: 2, arbitrary: typedField },
    { weight: 1, arbitrary: spliced },
    { weight: 1, arbitrary: valid.chain((v) => rawBody(JSON.stringify(v))) },
  );
}

/** Bodies that are not JSON, are truncated JSON, are huge, or are not even UTF-8. */
export function rawBody(validJson = '{"name":"fuzz"}'): fc.Arbitrary<{ text: string; encoding?: 'latin1' }> {
  return fc.oneof(
    fc.nat(Math.max(0, validJson.length - 1)).map((n) => ({ text: validJson.slice(0, n) })),
    fc
      .constantFrom(
        '',
        ' ',
        'null',
        '{',
        '}',
        '{"a":}',
        '{"a" 1}',
        '{,}',
        '[',
        '{"name":"a","name":{"x":1}}',
        '{"__proto__":{"admin":true}}',
        '{"constructor":{"prototype":{"admin":true}}}',
        'name=a&scopes=read',
        '<?xml version="1.0"?><a/>',
        '\u0000',
        '"\\ud800"',
        '{"name":"\\ud800\\udc00\\ud800"}',
        '{"name":"\\u0000"}',
        `\ufeff${validJson}`,
        `${validJson}${validJson}`,
        `${validJson} trailing`,
        `${'['.repeat(50_000)}${']'.repeat(50_000)}`,
        `{"a":${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}}`,
        `{"metadata":{"pad":"${'p'.repeat(70 * 1024)}"}}`,
        ' '.repeat(70 * 1024),
      )
      .map((text) => ({ text })),
    // Invalid UTF-8: lone continuation bytes, overlong encodings, surrogate halves, truncated sequences.
    fc
      .constantFrom(
        '\xff\xfe',
        '{"name":"\xc3\x28"}',
        '{"name":"\xc0\xaf"}',
        '{"name":"\xed\xa0\x80"}',
        '{"a":"\xe2\x82',
      )
      .map((text) => ({ text, encoding: 'latin1' as const })),
    fc
      .uint8Array({ maxLength: 200 })
      .map((bytes) => ({ text: Buffer.from(bytes).toString('latin1'), encoding: 'latin1' as const })),
    fc.string({ unit: 'binary', maxLength: 200 }).map((text) => ({ text })),
  );
}

/** Percent-encodes the UTF-8 bytes of everything but unreserved characters (lone surrogates become U+FFFD). */
export function percentEncode(s: string): string {
  return [...Buffer.from(s, 'utf8')]
    .map((b) =>
      /[A-Za-z0-9\-._~]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
    )
    .join('');
}

/** Ids that are not ids: encodings, dot segments, NUL, overlong, other pools' ids. */
const oddId = fc.oneof(
  fc.constantFrom(
    'root',
    'default',
    '0',
    '-1',
    'null',
    '%00',
    'a%00b',
    '..',
    '.',
    '%2e%2e',
    '%2F',
    'a%2Fb',
    '%5C',
    'x'.repeat(65),
    'x'.repeat(300),
    '%F0%9F%94%91',
    '%ED%A0%80',
    '%C0%AF',
    '%ZZ',
    '%',
    '*',
    ';x=1',
    '%3Bx=1',
    '%20',
    '+',
    '%2B',
    'csm_00000000000000000000',
    'key_00000000000000000000',
  ),
  nastyString.map(percentEncode),
  fc.constantFrom('consumer', 'keyId', 'rotation', 'plan').chain(refOf),
);

/** The pool a path parameter draws its ids from, judged by the path's collection. */
function poolOf(path: string, param: string): fc.Arbitrary<string> {
  if (param === 'target') return fc.oneof(refOf('consumer'), fc.constant('default'));
  const collection = /^\/v1\/([^/]+)/.exec(path)?.[1] ?? '';
  const pools: Record<string, string> = {
    consumers: 'consumer',
    keys: 'keyId',
    rotations: 'rotation',
    plans: 'plan',
    analytics: 'rotation',
  };
  const pool = pools[collection];
  return pool ? refOf(pool) : fc.constantFrom('whk_00000000000000000000', 'alr_00000000000000000000', 'x');
}

/** The operation's path with its parameters filled: mostly real ids, sometimes odd ones. */
export function filledPath(op: Operation): fc.Arbitrary<string> {
  const params = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] ?? '');
  const values = params.map((p) =>
    fc.oneof({ weight: 5, arbitrary: poolOf(op.path, p) }, { weight: 2, arbitrary: oddId }),
  );
  return fc.tuple(...values).map((vs) => {
    let path = op.path;
    params.forEach((p, i) => {
      path = path.replace(`{${p}}`, vs[i] ?? '');
    });
    return path;
  });
}

/** A query string for the operation's parameters: valid values, odd values, repeats and junk. */
export function queryFor(op: Operation): fc.Arbitrary<string> {
  const one = (name: string, schema: JsonSchema) =>
    fc
      .oneof(
        { weight: 3, arbitrary: validValue(schema, name).map((v) => String(v)) },
        { weight: 2, arbitrary: nastyString },
        { weight: 1, arbitrary: fc.constantFrom('0', '-1', '1e3', '100', '101', '1.5', 'true', '') },
      )
      .map((v) => `${name}=${percentEncode(v)}`);
  const params = op.query.map((q) => fc.option(one(q.name, q.schema), { nil: undefined, freq: 2 }));
  const junk = fc.constantFrom(
    '',
    'limit=1&limit=2',
    'cursor=%ZZ',
    '%',
    'a[b]=c',
    '__proto__[admin]=1',
    'constructor[prototype][x]=1',
    'x=%00',
    'x=%ED%A0%80',
    `x=${'q'.repeat(5000)}`,
    '&&&',
    '=',
    'waitTimeout=-1',
    'wait=maybe',
  );
  return fc
    .tuple(fc.tuple(...params), fc.option(junk, { freq: 4 }))
    .map(([ps, j]) => [...ps.filter((p) => p !== undefined), ...(j ? [j] : [])].join('&'))
    .map((q) => (q ? `?${q}` : ''));
}

/** Re-spells a path: doubled slashes, dot segments, encodings, `;params`, case, very long segments. */
export function mangledPath(path: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const mangle = fc.constantFrom(
    (p: string) => p,
    (p: string) => `/${p}`,
    (p: string) => p.replace('/v1/', '/v1//'),
    (p: string) => `${p}/`,
    (p: string) => `${p}/..`,
    (p: string) => `${p}/../..`,
    (p: string) => p.replace('/v1/', '/v1/./'),
    (p: string) => p.replace('/v1/', '/v1/x/../'),
    (p: string) => p.replace('/v1/', '/v1/%2e%2e/v1/'),
    (p: string) => p.toUpperCase(),
    (p: string) => p.replace(/[a-z]/, (c) => `%${c.charCodeAt(0).toString(16)}`),
    (p: string) => `/${p.slice(1).replace(/\//g, '%2F')}`,
    (p: string) => `/${p.slice(1).replace(/\//g, '\\')}`,
    (p: string) => `${p};jsessionid=1`,
    (p: string) => p.replace('/v1', '/v1;x=y'),
    (p: string) => `${p}#frag`,
    (p: string) => `${p}/extra`,
    (p: string) => `${p}%00`,
    (p: string) => `${p}%`,
    (p: string) => `${p}/${'s'.repeat(101)}`,
    (p: string) => `${p}/${'s'.repeat(3000)}`,
    (p: string) => `${p}/${'s'.repeat(20_000)}`,
    (p: string) => `${p}/${'%F0%9F%94%91'.repeat(40)}`,
  );
  return fc.tuple(path, mangle).map(([p, m]) => m(p));
}

/** Paths nobody routes. */
export const unknownPath = fc.constantFrom(
  '/',
  '/v1',
  '/v1/',
  '/v2/keys',
  '/admin',
  '/.env',
  '/.git/config',
  '/v1/keys/verify/extra',
  '/v1/self/other',
  '/docs/../../etc/passwd',
  '/openapi.json/x',
  '/metrics/x',
  '/dashboard/../v1/keys',
  '/favicon.ico',
  '/%2e%2e/%2e%2e/etc/passwd',
);

/** Every method, the unusual ones included. */
export const anyMethod = fc.constantFrom(
  'GET',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'HEAD',
  'OPTIONS',
  'TRACE',
  'PROPFIND',
  'MKCOL',
  'SEARCH',
  'QUERY',
  'LOCK',
  'PURGE',
  'REPORT',
);

/** Content types, right and wrong. */
export const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json') },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '',
      'application/json; charset=utf-8',
      'application/json; charset=latin1',
      'application/json; charset=utf-16',
      'application/json; charset="junk',
      'application/json; charset=',
      'application/json;;;',
      'APPLICATION/JSON',
      'application/json, text/plain',
      'application/problem+json',
      'application/jsonx',
      'application/vnd.api+json',
      'text/plain',
      'text/plain; charset=utf-8',
      'text/html',
      'multipart/form-data; boundary=x',
      'multipart/form-data',
      'application/x-www-form-urlencoded',
      'application/octet-stream',
      'application/xml',
      '*/*',
      'application/*',
      'json',
      `application/json; x=${'y'.repeat(2000)}`,
      'application/json; charset=utf-8; charset=utf-16',
    ),
  },
);

/** Accept headers, including ones nothing satisfies. */
export const accept = fc.constantFrom(
  'application/json',
  'application/problem+json',
  'text/html',
  'application/xml',
  '*/*;q=0',
  'image/png',
  'garbage',
  ';;;',
);

/** Credentials as the admin API sees them: root keys of every scope, consumer keys, and garbage. */
export const adminAuth: fc.Arbitrary<Record<string, string>> = fc.oneof(
  { weight: 10, arbitrary: rootKeyRef.map((k) => ({ authorization: `Bearer ${k}` })) },
  { weight: 2, arbitrary: refOf('consumerKey').map((k) => ({ authorization: `Bearer ${k}` })) },
  { weight: 1, arbitrary: rootKeyRef.map((k) => ({ 'x-api-key': k })) },
  { weight: 1, arbitrary: fc.constant({}) },
  {
    weight: 3,
    arbitrary: fc
      .constantFrom(
        'Bearer',
        'Bearer ',
        `bearer ${ref('root', 'star')}`,
        `BEARER ${ref('root', 'star')}`,
        `Bearer  ${ref('root', 'star')}`,
        `Bearer ${ref('root', 'star')} extra`,
        `Bearer ${ref('root', 'star')}x`,
        `Bearer ${ref('root', 'star')},Bearer ${ref('root', 'star')}`,
        `Basic ${Buffer.from(`root:${ref('root', 'star')}`).toString('base64')}`,
        `Bearer ${'a'.repeat(5000)}`,
        `Bearer kr_root_${'é'.repeat(40)}`,
        'Bearer kr_root_🔑🔑🔑',
        'Bearer kr_root_',
        'Bearer kr_root_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
        `Bearer ${'kr_root_'.repeat(100)}`,
        'Token abc',
        'Bearer \t',
      )
      .map((authorization) => ({ authorization })),
  },
);

/** Credentials for self-service: the consumer's own key, mostly, in every place a client might put it. */
export const consumerAuth: fc.Arbitrary<Record<string, string>> = fc.oneof(
  { weight: 10, arbitrary: refOf('consumerKey').map((k) => ({ 'x-api-key': k })) },
  { weight: 2, arbitrary: refOf('consumerKey').map((k) => ({ authorization: `Bearer ${k}` })) },
  { weight: 1, arbitrary: rootKeyRef.map((k) => ({ 'x-api-key': k })) },
  {
    weight: 1,
    arbitrary: fc.tuple(refOf('consumerKey'), refOf('consumerKey')).map(([a, b]) => ({
      'x-api-key': a,
      authorization: `Bearer ${b}`,
    })),
  },
  { weight: 1, arbitrary: fc.constant({}) },
  {
    weight: 2,
    arbitrary: fc
      .oneof(nastyString, fc.constantFrom('kr_live_', `${ref('consumerKey', 0)} `, `${ref('consumerKey', 1)}x`))
      .map((k) => ({ 'x-api-key': k })),
  },
);

/** Other headers a client might send: forwarded-for, method overrides, encodings, identity spoofs. */
export const extraHeaders: fc.Arbitrary<Record<string, string>> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({}) },
  {
    weight: 1,
    arbitrary: fc.constantFrom<Record<string, string>>(
      { 'x-forwarded-for': '203.0.113.7, ::1, garbage, ' },
      { 'x-forwarded-for': 'x'.repeat(3000) },
      { 'x-http-method-override': 'DELETE' },
      { 'content-encoding': 'gzip' },
      { 'content-encoding': 'br, identity' },
      { 'x-keyroll-consumer-id': 'csm_spoofed', 'x-keyroll-key-id': 'key_spoofed' },
      { 'user-agent': '🔑'.repeat(200) },
      { 'user-agent': 'u'.repeat(8000) },
      { connection: 'x-api-key, authorization' },
      { te: 'trailers' },
      { 'proxy-authorization': 'Basic abc' },
      { forwarded: 'for=unknown;proto=gopher' },
      { 'if-none-match': '*' },
      { range: 'bytes=0-0,-1' },
      { expect: 'something' },
      { 'x-request-id': '\u00ff\u00fe' },
    ),
  },
);

/** Assembles a case from its parts, adding a content type when there is a body. */
function makeCase(
  strategy: string,
  method: string,
  target: string,
  headers: Record<string, string>[],
  body: { text: string; encoding?: 'latin1' } | undefined,
  type: string | undefined,
): FuzzCase {
  const merged: Record<string, string> = Object.assign({}, ...headers);
  if (body !== undefined && type !== undefined && type !== '') merged['content-type'] = type;
  return {
    strategy,
    method,
    target,
    headers: merged,
    ...(body === undefined ? {} : { body: body.text, ...(body.encoding ? { bodyEncoding: body.encoding } : {}) }),
  };
}

/** (a) Schema-aware: an operation with real ids, a body from its schema with at most one field wrong. */
export function schemaCase(
  ops: Operation[],
  auth: fc.Arbitrary<Record<string, string>>,
  strategy: string,
): fc.Arbitrary<FuzzCase> {
  return fc
    .constantFrom(...ops)
    .chain((op) =>
      fc
        .tuple(
          filledPath(op),
          queryFor(op),
          auth,
          op.body ? bodyFor(op) : fc.option(bodyFor(op), { freq: 5, nil: undefined }),
          fc.oneof({ weight: 9, arbitrary: fc.constant('application/json') }, { weight: 1, arbitrary: contentType }),
          fc.option(accept, { freq: 6, nil: undefined }),
        )
        .map(([path, query, headers, body, type, acc]) =>
          makeCase(strategy, op.method, `${path}${query}`, [headers, acc ? { accept: acc } : {}], body, type),
        ),
    );
}

/** (b)+(c)+(d) Chaos: any method on known, mangled and unknown paths, with odd headers and bodies. */
export function chaosCase(ops: Operation[], auth: fc.Arbitrary<Record<string, string>>): fc.Arbitrary<FuzzCase> {
  const path = fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom(...ops).chain((op) => filledPath(op)) },
    { weight: 1, arbitrary: unknownPath },
  );
  const body = fc.option(
    fc.oneof(
      rawBody(),
      fc.constantFrom(...ops.filter((o) => o.body)).chain((op) => bodyFor(op)),
    ),
    { freq: 2, nil: undefined },
  );
  return fc
    .tuple(
      anyMethod,
      mangledPath(path),
      fc.oneof(fc.constant(''), fc.constantFrom(...ops).chain(queryFor)),
      auth,
      extraHeaders,
      fc.option(accept, { freq: 3, nil: undefined }),
      body,
      contentType,
    )
    .map(([method, p, query, a, extra, acc, b, type]) =>
      makeCase('chaos', method, `${p}${query}`, [a, extra, acc ? { accept: acc } : {}], b, type),
    );
}

/** A gateway route the fuzz configures; the suite adds the upstream. */
export interface FuzzGatewayRoute {
  pathPrefix: string;
  scopes?: string[];
  methods?: string[];
}

/** The gateway routes the fuzz configures (the suite points them at its echo upstream). */
export const GATEWAY_ROUTES: FuzzGatewayRoute[] = [
  { pathPrefix: '/api', scopes: ['read'] },
  { pathPrefix: '/api/orders', scopes: ['write'], methods: ['POST', 'PUT'] },
  { pathPrefix: '/open' },
];

/** Gateway route prefixes the fuzz configures. */
export const GATEWAY_PREFIXES = GATEWAY_ROUTES.map((r) => r.pathPrefix);

/** Gateway requests: any method, route and re-spelled paths, keys in either header, spoofed and hop-by-hop headers. */
export function gatewayCase(): fc.Arbitrary<FuzzCase> {
  const path = fc
    .tuple(
      fc.constantFrom(...GATEWAY_PREFIXES, '/API', '/ap', '/apix', '/api2', '/', '/v1/keys', '/nothing'),
      fc.constantFrom('', '/', '/things', '/orders/1', '/a/b/c', '/../admin', '/%2e%2e/admin', '/x;y=z', '/%ZZ'),
    )
    .map(([prefix, rest]) => `${prefix}${rest}`);
  const auth = fc.oneof(
    { weight: 8, arbitrary: refOf('consumerKey').map((k) => ({ 'x-api-key': k })) },
    { weight: 2, arbitrary: refOf('consumerKey').map((k) => ({ authorization: `Bearer ${k}` })) },
    { weight: 1, arbitrary: rootKeyRef.map((k) => ({ 'x-api-key': k })) },
    { weight: 1, arbitrary: rootKeyRef.map((k) => ({ authorization: `Bearer ${k}` })) },
    { weight: 1, arbitrary: fc.constant({}) },
    { weight: 2, arbitrary: consumerAuth },
    { weight: 1, arbitrary: adminAuth },
  );
  const query = fc.constantFrom('', '?x=1', '?x=%00', '?a=b&a=c', `?q=${'q'.repeat(3000)}`, '?%', '?key=abc');
  return fc
    .tuple(
      anyMethod,
      mangledPath(path),
      query,
      auth,
      extraHeaders,
      fc.option(rawBody(), { freq: 3, nil: undefined }),
      contentType,
    )
    .map(([method, p, q, a, extra, b, type]) => makeCase('gateway', method, `${p}${q}`, [a, extra], b, type));
}

/**
 * Gateway requests that should be forwarded, so that the fuzz reaches the upstream and exercises
 * forwarding itself: a route and a method it allows, a path in a spelling that canonicalises
 * (doubled slashes, a trailing slash, escaped unreserved characters, sub-delimiters, escaped
 * non-ASCII, long segments), a key of the world's gateway consumer (`@@gatewayKey.n@@`, which no
 * generated admin request names, so it is not revoked under the gateway's feet) in either header —
 * and still any query, odd headers and any body.
 */
export function forwardedGatewayCase(): fc.Arbitrary<FuzzCase> {
  const routeAndMethod = fc.oneof(
    fc.tuple(fc.constantFrom('/api', '/open'), anyMethod),
    fc.tuple(fc.constant('/api/orders'), fc.constantFrom('POST', 'PUT')),
  );
  // None starts with `/orders`, which would move a `/api` request to the `/api/orders` route.
  const rest = fc.constantFrom(
    '',
    '/',
    '/things',
    '/things/1',
    '/a/b/c',
    '/x%20y',
    "/it's(1)+2=3,*:@!$&",
    '/~user/-._',
    '/%7Euser',
    '/%7euser',
    `/${'%F0%9F%94%91'.repeat(3)}`,
    `/${'s'.repeat(101)}`,
    `/${'s'.repeat(3000)}`,
  );
  const spelling = fc.constantFrom(
    (p: string) => p,
    (p: string) => `/${p}`,
    (p: string) => p.replace(/\//g, '//'),
    (p: string) => `${p}/`,
    (p: string) => p.replace(/^\/([a-z])/, (_, c: string) => `/%${c.charCodeAt(0).toString(16)}`),
    (p: string) => p.replace(/^\/([a-z])/, (_, c: string) => `/%${c.charCodeAt(0).toString(16).toUpperCase()}`),
  );
  const key = refOf('gatewayKey');
  const auth = fc.oneof(
    { weight: 3, arbitrary: key.map((k) => ({ 'x-api-key': k })) },
    { weight: 2, arbitrary: key.map((k) => ({ authorization: `Bearer ${k}` })) },
  );
  const query = fc.constantFrom('', '', '?x=1', '?x=%00', '?a=b&a=c', `?q=${'q'.repeat(3000)}`, '?%', '?key=abc');
  return fc
    .tuple(
      routeAndMethod,
      rest,
      spelling,
      query,
      auth,
      extraHeaders,
      fc.option(rawBody(), { freq: 2, nil: undefined }),
      contentType,
    )
    .map(([[prefix, method], r, spell, q, a, extra, b, type]) =>
      makeCase('gateway-forwarded', method, `${spell(`${prefix}${r}`)}${q}`, [a, extra], b, type),
    );
}

/** Request lines no well-behaved client sends, for a raw socket: odd targets, methods and framing. */
export function rawCase(
  pathArb: fc.Arbitrary<string>,
  auth: fc.Arbitrary<Record<string, string>>,
): fc.Arbitrary<FuzzCase> {
  const target = fc.oneof(
    pathArb,
    fc.constantFrom(
      '*',
      'v1/keys',
      'http://127.0.0.1/v1/keys',
      'http://evil.invalid/api/things',
      '//api/things',
      '/v1/keys\x7f',
      '/v1/kéys',
      '/api/thïngs',
      '/v1/keys?é=ü',
      '/v1/keys\ttab',
      '/v1/keys#frag',
      '/%',
      '/%zz',
      '/\\..\\..\\',
      `/${'a'.repeat(70_000)}`,
    ),
  );
  const method = fc.constantFrom('GET', 'POST', 'get', 'FOO', 'G\u00e9T', 'PROPFIND', 'CONNECT', 'OPTIONS', 'HEAD');
  const framing = fc.constantFrom<Record<string, string>>(
    {},
    {},
    {},
    { 'content-length': 'abc' },
    { 'content-length': '-1' },
    { 'content-length': '1, 2' },
    { 'content-length': '0', 'transfer-encoding': 'chunked' },
    { 'transfer-encoding': 'gzip' },
    { 'x-bad header': '1' },
    { 'x-nul': 'a\u0000b' },
    { 'x-utf8': 'ünïcødé' },
    { 'x-big': 'b'.repeat(20_000) },
  );
  return fc
    .tuple(method, target, auth, framing, fc.option(rawBody(), { freq: 3, nil: undefined }))
    .map(([m, t, a, f, b]) => {
      // A chunked request's body must be chunked: send its terminating chunk and nothing else.
      const body = f['transfer-encoding'] === 'chunked' ? { text: '0\r\n\r\n' } : b;
      return makeCase('raw', m, t, [a, f], body, 'application/json');
    });
}
