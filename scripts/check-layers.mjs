// @ts-check
// `npm run lint`'s layer check (issue 10): dependency-cruiser's rules (.dependency-cruiser.cjs) on the
// tracked sources only (untracked scratch files are ignored), plus two rules it cannot state itself:
// no cycle between the folders of a package's src (type-only imports included), and no query built
// outside storage.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const sources = execFileSync('git', ['ls-files', '-z', '--', 'packages/*/src/**.ts', 'packages/*/src/*.ts'], {
  cwd: root,
  encoding: 'utf8',
})
  .split('\0')
  .filter((f) => f !== '' && !f.endsWith('.d.ts'));

/** @type {{ modules: { source: string, dependencies: { resolved: string }[] }[], summary: { violations: { from: string, to: string, rule: { name: string }, cycle?: { name: string }[] }[] } }} */
const result = JSON.parse(
  execFileSync(
    join(root, 'node_modules/.bin/depcruise'),
    ['--config', '.dependency-cruiser.cjs', '-T', 'json', ...sources],
    {
      cwd: root,
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    },
  ),
);

const problems = result.summary.violations.map((v) =>
  v.cycle
    ? `${v.rule.name}: ${[v.from, ...v.cycle.map((c) => c.name)].join(' → ')}`
    : `${v.rule.name}: ${v.from} → ${v.to}`,
);

// Storage owns data access: above it, no query is built on a handle storage hands out either (the
// import rule above cannot see a method call on a `Db`).
const QUERY_BUILDING = /\.(selectFrom|insertInto|replaceInto|updateTable|deleteFrom|mergeInto|selectNoFrom)\(|\bsql`/;
for (const file of sources) {
  if (file.startsWith('packages/storage/')) continue;
  readFileSync(join(root, file), 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (QUERY_BUILDING.test(line))
        problems.push(`sql-in-storage-only: ${file}:${i + 1} builds a query (${line.trim()})`);
    });
}

/** `packages/server/src/monitoring/x.ts` → `packages/server/src/monitoring`; a file at the src root is its own room. */
const folderOf = (/** @type {string} */ file) => {
  const m = /^(packages\/[^/]+\/src\/[^/]+)\//.exec(file);
  return m ? m[1] : null;
};
/** @type {Map<string, Map<string, string>>} folder → folder it imports → one module import that shows it */
const edges = new Map();
for (const m of result.modules) {
  const from = folderOf(m.source);
  if (from === null) continue;
  for (const d of m.dependencies) {
    const to = folderOf(d.resolved);
    if (to === null || to === from || to.split('/src/')[0] !== from.split('/src/')[0]) continue;
    if (!edges.has(from)) edges.set(from, new Map());
    edges.get(from)?.set(to, `${m.source} → ${d.resolved}`);
  }
}
for (const [a, targets] of edges) {
  for (const [b, via] of targets) {
    const back = findPath(b, a);
    if (back && a < b) problems.push(`folder cycle: ${a} ⇄ ${b} (${via}; back: ${back.join(' ; ')})`);
  }
}

/** A path of folder imports from `start` to `goal`, as the module imports that make it, or null. */
function findPath(/** @type {string} */ start, /** @type {string} */ goal) {
  /** @type {[string, string[]][]} */
  const queue = [[start, []]];
  const seen = new Set([start]);
  while (queue.length > 0) {
    const [at, via] = /** @type {[string, string[]]} */ (queue.shift());
    for (const [next, how] of edges.get(at) ?? []) {
      if (next === goal) return [...via, how];
      if (!seen.has(next)) {
        seen.add(next);
        queue.push([next, [...via, how]]);
      }
    }
  }
  return null;
}

if (problems.length > 0) {
  console.error(
    `Layer check failed (${problems.length}): see .dependency-cruiser.cjs and docs/architecture.md\n  ${problems.join('\n  ')}`,
  );
  process.exit(1);
}
console.log(
  `Layers hold: ${sources.length} tracked sources, no wrong-way import, no cycle between modules or folders, no query built outside storage`,
);
