import type { Command } from 'commander';
import { type AdminTarget, resolveTarget } from './admin-client.js';

/** The server and root key a command calls, from the global `--url` / `--root-key` and the environment. */
export function targetOf(cmd: Command): AdminTarget {
  return resolveTarget(cmd.optsWithGlobals());
}

/** Path segment of an id given on the command line. */
export function seg(id: string): string {
  return encodeURIComponent(id);
}
