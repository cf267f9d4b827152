import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BUILT_MAIN_ENTRY, buildClient, REPO_ROOT } from './support/built-client.js';

beforeAll(() => buildClient());

/** Every module the file imports, transitively (relative imports of the built ESM). */
function importGraph(entry: string, seen = new Map<string, string[]>()): Map<string, string[]> {
  if (seen.has(entry)) return seen;
  const specifiers = [...readFileSync(entry, 'utf8').matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map(
    (m) => m[1] ?? '',
  );
  seen.set(entry, specifiers);
  for (const s of specifiers) if (s.startsWith('.')) importGraph(join(dirname(entry), s), seen);
  return seen;
}

describe('the built package', () => {
  it('main entry imports no node: module and no dependency (runs in browsers and edge runtimes)', () => {
    const graph = importGraph(BUILT_MAIN_ENTRY);
    const external = [...graph.values()].flat().filter((s) => !s.startsWith('.'));
    expect(external).toEqual([]);
    expect(graph.size).toBeGreaterThan(5);
  });

  it('Node.js resolves "@keyroll/client" (node condition) and "@keyroll/client/node" to the entry with fromFile', () => {
    const script =
      "const a = await import('@keyroll/client'); const b = await import('@keyroll/client/node');" +
      'console.log(JSON.stringify([typeof a.fromFile, typeof a.createClient, typeof b.fromFile, typeof b.fromEnv]));';
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    expect(JSON.parse(out)).toEqual(['function', 'function', 'function', 'function']);
  });

  it('has no runtime dependencies', () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'packages/client/package.json'), 'utf8'));
    expect(pkg.dependencies ?? {}).toEqual({});
  });
});
