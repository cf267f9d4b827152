import { setTimeout as sleep } from 'node:timers/promises';
import { type RotationState, readDuration } from '@keyroll/core';
import type { Command } from 'commander';
import { type AdminTarget, callAdmin } from './admin-client.js';
import { seg, targetOf } from './command-kit.js';
import { cliProblem } from './errors.js';
import {
  changeKey,
  endLine,
  plainLine,
  type RotationSnapshot,
  snapshotOf,
  terminalLine,
  type WatchedRotation,
} from './rotation-progress.js';

/** Exit code of a watch whose rotation was rolled back (0 when it completed). */
export const ROLLED_BACK_EXIT_CODE = 3;

/** The default of `--interval`. */
export const DEFAULT_WATCH_INTERVAL = '2s';

/** How a watch reports. */
export interface WatchOptions {
  intervalMs: number;
  /** NDJSON: a {@link RotationSnapshot} per line, whenever one differs from the last beyond the countdown. */
  json: boolean;
  /** A terminal: one line redrawn in place with a progress bar on every poll. Else plain lines on change. */
  tty: boolean;
  write: (text: string) => void;
  /** This machine's clock (for the countdown). */
  now?: () => number;
}

/** `--interval`: a duration of at least 100 ms (e.g. `500ms`, `2s`). */
export function watchInterval(text: string): number {
  const read = readDuration(text);
  if (!('ms' in read) || read.ms < 100) throw new Error(`--interval: not a duration of at least 100ms: ${text}`);
  return read.ms;
}

/** Prints one poll's report the way `options` asks; `previous` is the last report printed. */
function report(s: RotationSnapshot, previous: RotationSnapshot | undefined, options: WatchOptions, now: number): void {
  const changed = previous === undefined || changeKey(previous) !== changeKey(s);
  if (options.json) {
    if (changed) options.write(`${JSON.stringify(s)}\n`);
  } else if (options.tty) {
    // Carriage return and "erase line": the bar is redrawn where it stands.
    options.write(`\r\x1b[2K${terminalLine(s, now)}`);
  } else if (changed) {
    options.write(`${plainLine(s)}\n`);
  }
}

/**
 * Polls `GET /v1/rotations/:id` every `intervalMs` and reports its progress until it ends; resolves
 * with the final state (`completed` or `rolled_back`). API errors and an unreachable server throw.
 */
export async function watchRotation(target: AdminTarget, id: string, options: WatchOptions): Promise<RotationState> {
  const now = options.now ?? Date.now;
  let previous: RotationSnapshot | undefined;
  for (;;) {
    const rotation = await callAdmin<WatchedRotation>(target, 'GET', `/v1/rotations/${seg(id)}`);
    const at = now();
    const s = snapshotOf(rotation, at);
    report(s, previous, options, at);
    previous = s;
    if (s.state !== 'rolling') {
      if (options.tty && !options.json) options.write('\n');
      if (!options.json) options.write(`${endLine(s)}\n`);
      return s.state;
    }
    await sleep(options.intervalMs);
  }
}

/**
 * Watches as a command does: reports to stdout, then sets the exit code by how the rotation ended.
 * With `json` an error is one more NDJSON line, `{"error": {code, status?, detail, url?}}` (exit 1),
 * so that the output stays one object per line. On a terminal, Ctrl-C leaves the bar's line first.
 */
export async function watchFromCli(target: AdminTarget, id: string, intervalMs: number, json: boolean): Promise<void> {
  const tty = process.stdout.isTTY === true;
  const leave = () => {
    process.stdout.write('\n');
    process.exit(130);
  };
  if (tty && !json) process.once('SIGINT', leave);
  try {
    const state = await watchRotation(target, id, {
      intervalMs,
      json,
      tty,
      write: (text) => process.stdout.write(text),
    });
    process.exitCode = state === 'rolled_back' ? ROLLED_BACK_EXIT_CODE : 0;
  } catch (e) {
    if (!json) throw e;
    process.stdout.write(`${JSON.stringify({ error: cliProblem(e) })}\n`);
    process.exitCode = 1;
  } finally {
    process.off('SIGINT', leave);
  }
}

/** `keyroll rotations watch <id>`: live progress until the rotation ends. */
export function addWatchCommand(rotations: Command): void {
  rotations
    .command('watch <id>')
    .description(`follow a rotation until it ends: exit 0 when it completes, ${ROLLED_BACK_EXIT_CODE} when rolled back`)
    .option('--interval <duration>', 'time between polls, e.g. 500ms or 5s', DEFAULT_WATCH_INTERVAL)
    .option('--json', 'print NDJSON progress lines')
    .action(async (id: string, opts, cmd: Command) =>
      watchFromCli(targetOf(cmd), id, watchInterval(opts.interval), opts.json === true),
    );
}
