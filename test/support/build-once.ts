import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Vitest global setup: builds every package once before any suite starts, so that the suites which
 * run `dist/` (the CLI, built adapters, crash recovery) find it built and never build it at the same
 * time as each other. A failed build is reported here; those suites then fail on their own.
 */
export default function buildOnce(): void {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  try {
    execFileSync('npx', ['tsc', '-b'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], timeout: 300_000 });
  } catch {
    console.warn('build-once: `tsc -b` failed; suites that run dist/ will fail');
  }
}
