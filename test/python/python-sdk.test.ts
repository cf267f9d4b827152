import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The Python SDK's suite (sdk/python/tests: pytest against a real keyroll it starts) and its type
// check (mypy --strict), as part of `npm test`. Without Debian's python3 + pytest, httpx, requests
// and mypy the suite is skipped with the reason printed — unless KEYROLL_REQUIRE_PYTHON=1 (CI),
// where a missing toolchain is a failure.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SDK = join(ROOT, 'sdk/python');
/** Debian's interpreter first: a pyenv `python3` earlier on PATH usually lacks the modules. */
const PYTHON = process.env.KEYROLL_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
const REQUIRED = process.env.KEYROLL_REQUIRE_PYTHON === '1';

/** Why the toolchain cannot run the suite, or `undefined` when it can. */
function missing(modules: string): string | undefined {
  const probe = spawnSync(PYTHON, ['-c', `import sys; assert sys.version_info >= (3, 9); import ${modules}`], {
    encoding: 'utf8',
  });
  if (probe.error) return `${PYTHON} cannot be run (${probe.error.message})`;
  if (probe.status !== 0) return `${PYTHON} lacks Python >= 3.9 or one of ${modules}: ${probe.stderr.trim()}`;
  return undefined;
}

/** Runs the interpreter with `args`; resolves with its exit code and output. */
function run(args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, args, {
      cwd,
      env: { ...process.env, NODE_OPTIONS: '', PYTHONDONTWRITEBYTECODE: '1', KEYROLL_SKIP_BUILD: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

const suiteGap = missing('pytest, httpx, requests');
const mypyGap = missing('mypy');

describe('Python SDK (sdk/python)', () => {
  if (suiteGap && !REQUIRED) console.warn(`Python SDK suite skipped: ${suiteGap}`);
  it.skipIf(suiteGap !== undefined && !REQUIRED)(
    'passes its pytest suite against a real keyroll',
    async () => {
      expect(suiteGap, 'KEYROLL_REQUIRE_PYTHON=1 needs the Python toolchain').toBeUndefined();
      const { code, output } = await run(['-m', 'pytest', 'sdk/python/tests', '-q', '-p', 'no:cacheprovider'], ROOT);
      if (code !== 0) console.error(output);
      expect(code, 'pytest exit code').toBe(0);
      expect(output).toMatch(/\d+ passed/);
    },
    300_000,
  );

  if (mypyGap && !REQUIRED) console.warn(`Python SDK type check skipped: ${mypyGap}`);
  it.skipIf(mypyGap !== undefined && !REQUIRED)(
    'type-checks with mypy --strict',
    async () => {
      expect(mypyGap, 'KEYROLL_REQUIRE_PYTHON=1 needs mypy').toBeUndefined();
      const { code, output } = await run(['-m', 'mypy', '--strict', '--cache-dir', '/dev/null'], SDK);
      if (code !== 0) console.error(output);
      expect(code, 'mypy exit code').toBe(0);
    },
    120_000,
  );
});
