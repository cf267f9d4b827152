import { spawn } from 'node:child_process';
import { CLI } from './run-cli.js';

/** A CLI run in progress: its output so far, and waits on what it prints and on its exit. */
export interface RunningCli {
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout matches (rejects when the process exits first or after 20 s). */
  printed(pattern: RegExp): Promise<string>;
  /** The exit code. */
  exited: Promise<number>;
}

/** Starts the CLI with stdout and stderr piped (not a terminal), for commands that run until something happens. */
export function spawnCli(args: string[], env: Record<string, string>): RunningCli {
  const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env } });
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    for (const check of listeners) check();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const killer = setTimeout(() => child.kill(), 20_000);
  const exited = new Promise<number>((done) =>
    child.on('close', (code) => {
      clearTimeout(killer);
      for (const check of listeners) check();
      done(code ?? -1);
    }),
  );
  const printed = (pattern: RegExp) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const m = pattern.exec(out);
        if (m) {
          listeners.delete(check);
          resolve(m[0]);
        } else if (child.exitCode !== null || child.signalCode !== null) {
          listeners.delete(check);
          reject(new Error(`exited before printing ${pattern}: ${out}${err}`));
        }
      };
      listeners.add(check);
      check();
    });
  return { stdout: () => out, stderr: () => err, printed, exited };
}
