// @ts-check
// `npm run lint`'s layer check (issue 10): dependency-cruiser's rules (.dependency-cruiser.cjs) on the
// tracked sources only (untracked scratch files are ignored), plus one rule it cannot state itself:
// no cycle between the folders of a package's src (type-only imports included).
import { execFileSync } from 'node:child_process';
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
console.log(`Layers hold: ${sources.length} tracked sources, no wrong-way import, no cycle between modules or folders`);
