// Import boundaries (issue 10): DESIGN's layers point down only —
// core ← storage ← verifier ← gateway ← server (the gateway needs no storage); the client SDK stands alone. `npm run lint` runs this on the
// tracked sources (scripts/check-layers.mjs), so a wrong-way import or a cycle fails CI.
/** A package's own sources, and the same package reached through its npm name. */
const pkg = (names) => `^(packages/(${names})/|@keyroll/(${names})($|/))`;

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'core-stands-alone',
      comment: 'core is the bottom layer: no other keyroll package',
      severity: 'error',
      from: { path: '^packages/core/src/' },
      to: { path: pkg('storage|verifier|gateway|server|client') },
    },
    {
      name: 'core-computes-only',
      comment: 'core does no I/O: of node:, only computation (crypto, zlib)',
      severity: 'error',
      from: { path: '^packages/core/src/' },
      to: { dependencyTypes: ['core'], pathNot: '^(node:)?(crypto|zlib)$' },
    },
    {
      name: 'storage-on-core-only',
      severity: 'error',
      from: { path: '^packages/storage/src/' },
      to: { path: pkg('verifier|gateway|server|client') },
    },
    {
      name: 'verifier-below-server',
      severity: 'error',
      from: { path: '^packages/verifier/src/' },
      to: { path: pkg('gateway|server|client') },
    },
    {
      name: 'gateway-on-core-and-verifier',
      comment: 'the gateway verifies through a verifier and never reads storage or the server itself',
      severity: 'error',
      from: { path: '^packages/gateway/src/' },
      to: { path: pkg('storage|server|client') },
    },
    {
      name: 'server-not-on-client',
      comment: 'the SDK is published on its own; the server never depends on it',
      severity: 'error',
      from: { path: '^packages/server/src/' },
      to: { path: pkg('client') },
    },
    {
      name: 'client-stands-alone',
      comment: 'the SDK runs in the API consumer’s process: no keyroll package behind it',
      severity: 'error',
      from: { path: '^packages/client/src/' },
      to: { path: pkg('core|storage|verifier|gateway|server') },
    },
    {
      name: 'sql-in-storage-only',
      comment: 'storage owns data access: no Kysely (query building, sql templates, dialects) above it',
      severity: 'error',
      from: { path: '^packages/(core|verifier|gateway|server|client)/src/' },
      to: { path: '(^|/)node_modules/kysely/' },
    },
    {
      name: 'no-cycles',
      comment: 'no cycle between modules, type-only imports included',
      severity: 'error',
      from: { path: '^packages/[^/]+/src/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.base.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
  },
};
