import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const CLI = join(resolve(import.meta.dirname, '../../..'), 'packages/server/dist/cli.js');

/** Runs `keyroll serve` (built) and returns how it ended; a healthy start would run until killed at 20 s. */
async function serve(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const proc = spawn(process.execPath, [CLI, 'serve'], {
    env: { PATH: process.env.PATH ?? '', KEYROLL_PORT: '0', KEYROLL_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 20_000,
  });
  let output = '';
  proc.stdout.on('data', (d) => {
    output += String(d);
  });
  proc.stderr.on('data', (d) => {
    output += String(d);
  });
  const [code] = await once(proc, 'close');
  return { code: typeof code === 'number' ? code : null, output };
}

/** A local TCP port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  await new Promise<void>((r) => server.close(() => r()));
  return address.port;
}

describe('keyroll serve refuses surprising starts', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'keyroll-serve-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('exits 1 naming Redis (password redacted) when KEYROLL_REDIS_URL cannot be reached', async () => {
    const port = await closedPort();
    const { code, output } = await serve({
      KEYROLL_DATA_DIR: dataDir,
      KEYROLL_REDIS_URL: `redis://:hunter2@127.0.0.1:${port}`,
    });
    expect(code, output).toBe(1);
    expect(output).toContain(`keyroll: Redis at redis://:***@127.0.0.1:${port}`);
    expect(output).not.toContain('hunter2');
    expect(output).not.toContain('listening');
  }, 30_000);

  it('exits 1 naming the root-key file of another store, and leaves it as it was', async () => {
    const file = join(dataDir, 'root-key');
    writeFileSync(file, 'kr_root_of_another_store\n', { mode: 0o600 });
    const { code, output } = await serve({ KEYROLL_DATA_DIR: dataDir });
    expect(code, output).toBe(1);
    expect(output).toContain(`keyroll: ${file} already exists`);
    expect(readFileSync(file, 'utf8')).toBe('kr_root_of_another_store\n');
  }, 30_000);
});
