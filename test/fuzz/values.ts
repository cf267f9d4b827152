import fc from 'fast-check';

/**
 * Values the fuzz puts into requests. Strings may hold placeholders `@@pool.n@@` (say
 * `@@consumer.2@@`, `@@root.star@@`), which the run replaces with real ids and keys of the moment,
 * so that generated requests stay reproducible from the seed while reaching deep into the API.
 */

/** Labels of the root keys the world issues, with their scopes. */
export const ROOT_KEY_SCOPES: Record<string, string[]> = {
  star: ['*'],
  keys: ['keys:*'],
  reader: [
    'consumers:read',
    'keys:read',
    'audit:read',
    'analytics:read',
    'plans:read',
    'webhooks:read',
    'alerts:read',
    'cluster:read',
  ],
  writer: ['consumers:write', 'keys:write', 'keys:rotate', 'plans:write', 'webhooks:write', 'alerts:write'],
  verify: ['keys:verify'],
  cluster: ['cluster:read'],
};

/** A placeholder for the `n`th member of a pool. */
export const ref = (pool: string, n: number | string = 0): string => `@@${pool}.${n}@@`;

/** Any member (0–7) of a pool; the world picks modulo its size. */
export const refOf = (pool: string): fc.Arbitrary<string> => fc.nat(7).map((n) => ref(pool, n));

/** Root key placeholders, weighted towards `*` so that requests get past authorisation. */
export const rootKeyRef: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: fc.constant(ref('root', 'star')) },
  { weight: 3, arbitrary: fc.constantFrom(...Object.keys(ROOT_KEY_SCOPES)).map((l) => ref('root', l)) },
);

/** Durations in every accepted spelling. */
export const goodDuration = fc.constantFrom<unknown>('90s', '15m', '1h', '24h', '7d', '30d', 0, 1, 3600, 86_400);

/** Durations that are out of range, negative, or spelled wrongly. */
export const badDuration = fc.constantFrom<unknown>(
  '-1s',
  '0s',
  '-0s',
  '99999999999d',
  '9007199254740993s',
  '100000000000000000000s',
  '1e3s',
  '1.5h',
  '1h30m',
  ' 1h',
  '1H',
  '1 d',
  '1w',
  '1y',
  '1ms',
  'NaNs',
  'Infinitys',
  '∞',
  '１h',
  -1,
  -0.5,
  0.0001,
  1e308,
  2 ** 53 + 2,
  Number.MAX_SAFE_INTEGER,
  9_999_999_999_999,
);

/** Date-times at and past the edges of what JavaScript's Date holds. */
export const oddDate = fc.constantFrom(
  '2026-13-45T00:00:00Z',
  '9999-12-31T23:59:59Z',
  '0000-01-01T00:00:00Z',
  '+275760-09-13T00:00:00.000Z',
  '-271821-04-20T00:00:00Z',
  '2026-01-01',
  '2026-01-01T00:00:00',
  '2026-02-30T00:00:00Z',
  '1970-01-01T00:00:00Z',
  '2026-01-01T00:00:00+99:99',
  '2026-01-01T24:00:00Z',
  '2026-12-31T23:59:60Z',
  '2026-06-30T23:59:60+00:00',
  '2026-01-01T00:00:00.123456789Z',
  '2026-01-01t00:00:00z',
  '20260101T000000Z',
);

/** Addresses and CIDRs, some malformed. */
export const oddCidr = fc.constantFrom(
  '10.0.0.0/33',
  '::/129',
  '1.2.3.4/-1',
  '1.2.3.4/08',
  '::ffff:1.2.3.4/200',
  '::ffff:1.2.3.4/128',
  '0.0.0.0/0',
  '::/0',
  '1.2.3.4/32 ',
  '01.02.03.04',
  '1.2.3',
  '256.1.1.1',
  'fe80::1%eth0',
  '[::1]',
  '::1/128',
  '127.0.0.1/32',
  '1.2.3.4/',
  '/8',
);

/** Strings that have broken parsers, databases and encoders before. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '\t',
    '\u0000',
    'a\u0000b',
    '\ud800',
    'x\udfffy',
    'a\ud83d',
    '\udc00\ud800',
    '\u202e',
    '\ufeff',
    '\u2028\u2029',
    'é',
    'e\u0301',
    '🔑',
    '🔑'.repeat(60),
    'NaN',
    'Infinity',
    '-Infinity',
    'null',
    'undefined',
    'true',
    '0',
    '-0',
    '1e999',
    '0x1F',
    '１２３',
    '../../etc/passwd',
    '%00',
    '%',
    '%ZZ',
    '<script>alert(1)</script>',
    "' or 1=1 --",
    '"; drop table keys; --',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a log-injection payload, meant literally
    '${jndi:ldap://127.0.0.1/x}',
    '{{7*7}}',
    '*',
    'root',
    'default',
    '__proto__',
    'constructor',
    'kr_live_',
    'kr_root_',
    'csm_',
    'key_',
    'a:b:c',
    'keys:*',
    'x'.repeat(33),
    'x'.repeat(65),
    'x'.repeat(101),
    'x'.repeat(201),
    'x'.repeat(301),
    'x'.repeat(513),
    'x'.repeat(2049),
  ),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom(9000, 70_000).map((n) => 'y'.repeat(n)),
  badDuration.map(String),
  oddDate,
  oddCidr,
);

/** Numbers at the edges: negative, fractional, huge, unsafe. */
export const nastyNumber = fc.oneof(
  fc.constantFrom(
    0,
    -0,
    -1,
    1.5,
    1e-7,
    1e21,
    1e308,
    -1e308,
    2 ** 31,
    2 ** 32,
    2 ** 53,
    2 ** 53 + 2,
    2 ** 63,
    Number.MAX_SAFE_INTEGER,
    Number.MIN_SAFE_INTEGER,
    1_000_000_001,
    1_000_000_000_001,
  ),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** A value nested `depth` levels deep in arrays or objects. */
export const deeplyNested = fc.tuple(fc.integer({ min: 20, max: 2000 }), fc.boolean()).map(([depth, arrays]) => {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = arrays ? [v] : { a: v };
  return v;
});

/** One wrong value for any JSON field: wrong type, edge number, odd string, deep nesting, odd container. */
export const nastyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 5, arbitrary: nastyString },
  { weight: 3, arbitrary: nastyNumber },
  { weight: 2, arbitrary: fc.constantFrom<unknown>(null, true, false, [], {}, [[[]]], [null], { '': '' }) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: deeplyNested },
  { weight: 1, arbitrary: fc.array(nastyString, { minLength: 1, maxLength: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom(101, 1000).map((n) => Array.from({ length: n }, (_, i) => `s${i}`)) },
  { weight: 1, arbitrary: fc.constantFrom(['read', 'read'], ['*'], ['keys:*', '*'], ['READ'], ['a b']) },
  { weight: 1, arbitrary: fc.constantFrom('csm_', 'key_', 'rot_').map((p) => `${p}${'0'.repeat(20)}`) },
  { weight: 2, arbitrary: fc.constantFrom('consumer', 'keyId', 'rotation', 'plan', 'consumerKey').chain(refOf) },
  { weight: 1, arbitrary: rootKeyRef },
  { weight: 1, arbitrary: badDuration },
  {
    weight: 1,
    // An own `__proto__` key, which a careless merge would turn into prototype pollution.
    arbitrary: fc.constant(JSON.parse('{"__proto__":{"admin":true},"constructor":{"prototype":{"x":1}}}')),
  },
);

/** Webhook targets: all loopback, none routable — the SSRF guard must refuse every one without connecting out. */
export const webhookUrl = fc.constantFrom(
  'http://127.0.0.1:9/hook',
  'http://127.0.0.1:9/',
  'https://127.0.0.1:9/x',
  'http://[::1]:9/',
  'http://localhost:9/',
  'http://127.1:9/',
  'http://0x7f000001:9/',
  'http://2130706433:9/',
  'http://[::ffff:127.0.0.1]:9/',
  'http://0.0.0.0:9/',
  'ftp://127.0.0.1/',
  'file:///etc/passwd',
  'javascript:alert(1)',
  'http://user:pass@127.0.0.1:9/',
  'http:/\\127.0.0.1:9/',
  'not a url',
  '',
);

/** Valid-looking values of fields the wire contract names, drawn from the world's real ids and keys. */
export const FIELD_VALUES: Record<string, fc.Arbitrary<unknown>> = {
  consumerId: fc.oneof({ weight: 6, arbitrary: refOf('consumer') }, { weight: 1, arbitrary: fc.constant('root') }),
  keyId: refOf('keyId'),
  name: fc.constantFrom('fuzz', 'a', 'n'.repeat(200), 'Ünïcødé 🔑'),
  externalId: fc.constantFrom('ext-1', null),
  metadata: fc.constantFrom({}, { tier: 'pro' }, { a: { b: [1, 2, { c: null }] } }),
  rateLimit: fc.constantFrom({ limit: 100, window: '1m' }, { limit: 1, window: 3600 }, null),
  quota: fc.constantFrom({ limit: 1000, period: 'month' }, { limit: 5, period: 'day' }, null),
  scopes: fc.constantFrom(['read'], [], ['read', 'write'], ['keys:read'], ['*']),
  events: fc.constantFrom(['*'], ['key.*'], ['key.created', 'rotation.started'], ['alert.raised']),
  expiresAt: fc.constantFrom('2030-01-01T00:00:00Z', '2026-01-02T00:00:00.000Z', null),
  expiresIn: goodDuration,
  allowedIps: fc.constantFrom(['10.0.0.0/8'], ['127.0.0.1/32', '::1/128'], null),
  planId: fc.oneof(refOf('plan'), fc.constant(null)),
  key: fc.oneof({ weight: 6, arbitrary: refOf('consumerKey') }, { weight: 1, arbitrary: rootKeyRef }),
  cost: fc.constantFrom(0, 1, 5, 1_000_000),
  ip: fc.constantFrom('127.0.0.1', '::1', '10.1.2.3', '::ffff:10.1.2.3'),
  userAgent: fc.constantFrom('fuzz/1.0', ''),
  reason: fc.constantFrom('fuzz', 'leaked'),
  gracePeriod: goodDuration,
  every: fc.constantFrom('30d', '7d', 86_400),
  by: goodDuration,
  idleFor: goodDuration,
  minGrace: goodDuration,
  maxGrace: goodDuration,
  extendBy: goodDuration,
  overlap: goodDuration,
  window: goodDuration,
  mode: fc.constantFrom('deadline', 'when-idle', 'after-first-use'),
  maxExtensions: fc.nat(5),
  url: webhookUrl,
  limit: fc.constantFrom(1, 10, 100, 1000),
  period: fc.constantFrom('day', 'month'),
};
