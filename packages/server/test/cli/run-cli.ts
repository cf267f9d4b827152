import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

/** The built CLI, as users run it (test/support/build-once.ts builds it before the suites). */
export const CLI = join(resolve(import.meta.dirname, '../../../..'), 'packages/server/dist/cli.js');
const run = promisify(execFile);

/** What a CLI run printed and how it exited. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Fails early with a clear message when the build did not produce the CLI. */
export function assertBuilt(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: the build in test/support/build-once.ts failed`);
}

/** Runs the CLI asynchronously (the server under test lives in this process and must keep answering). */
export async function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      timeout: 20_000,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

/** Runs the CLI with `--json` and parses its answer; throws when it exits non-zero. */
export async function cliJson(args: string[], env: Record<string, string>): Promise<any> {
  const res = await cli([...args, '--json'], env);
  if (res.code !== 0) throw new Error(`keyroll ${args.join(' ')} exited ${res.code}: ${res.stdout}${res.stderr}`);
  return JSON.parse(res.stdout);
}

/** A local port nothing listens on: one the OS just handed out and that was closed again. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  await new Promise<void>((done) => server.close(() => done()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}
