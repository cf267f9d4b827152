import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../../..');
/** The Node entry of the built package, as users import it. */
export const BUILT_NODE_ENTRY = join(REPO_ROOT, 'packages/client/dist/node.js');
/** The runtime-neutral entry of the built package. */
export const BUILT_MAIN_ENTRY = join(REPO_ROOT, 'packages/client/dist/index.js');

/** The SDK's type surface; the value comes from `dist/`, built by {@link buildClient}. */
export type BuiltClient = typeof import('../../src/node.js');

const LOCK = join(REPO_ROOT, 'packages/client/.dist-build.lock');
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Builds `packages/client` with `tsc -b` (a no-op when up to date), one test process at a time,
 * so suites test the same `dist/` that is published — also from a clean checkout.
 */
export function buildClient(): void {
  const start = Date.now();
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      const age = ageOf(LOCK);
      if (age !== undefined && age > 120_000) rmSync(LOCK, { recursive: true, force: true });
      if (Date.now() - start > 180_000) throw new Error(`${LOCK} held for too long`);
      Atomics.wait(sleeper, 0, 0, 100);
    }
  }
  try {
    execFileSync(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-b', 'packages/client'], {
      cwd: REPO_ROOT,
      stdio: 'pipe',
    });
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

/** Builds the SDK and imports its Node entry from `dist/`. */
export async function loadBuiltClient(): Promise<BuiltClient> {
  buildClient();
  return import(BUILT_NODE_ENTRY);
}

function ageOf(path: string): number | undefined {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}
