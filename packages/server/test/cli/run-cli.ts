import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { eventually } from '../../../../test/support/eventually.js';

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

/** A long-running CLI command (`serve`, `edge`) as a child process: what it printed so far, and a stop. */
export interface RunningCli {
  proc: ChildProcess;
  /** Everything printed so far, stdout and stderr. */
  output(): string;
  /** What it printed on stdout so far. */
  stdout(): string;
  /** Its first stdout line parsed as JSON, once printed (`--json` start line). */
  startLine(): Promise<any>;
  /** SIGTERM, then its exit code. */
  stop(): Promise<number | null>;
}

/** Starts a long-running CLI command with only `env` (and PATH) as its environment. */
export function startCli(args: string[], env: Record<string, string>): RunningCli {
  const proc = spawn(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let all = '';
  proc.stdout?.on('data', (d) => {
    stdout += String(d);
    all += String(d);
  });
  proc.stderr?.on('data', (d) => {
    all += String(d);
  });
  return {
    proc,
    output: () => all,
    stdout: () => stdout,
    startLine: async () => {
      await eventually(() => stdout.includes('\n') || proc.exitCode !== null, 'the start line', 20_000);
      return JSON.parse(stdout.split('\n')[0] ?? '');
    },
    stop: () => {
      const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
      proc.kill('SIGTERM');
      return exited;
    },
  };
}
