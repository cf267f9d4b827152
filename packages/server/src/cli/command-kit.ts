import type { Command } from 'commander';
import { type AdminTarget, callAdmin, resolveTarget } from './admin-client.js';
import { print, type Row } from './output.js';

/** The server and root key a command calls, from the global `--url` / `--root-key` and the environment. */
export function targetOf(cmd: Command): AdminTarget {
  return resolveTarget(cmd.optsWithGlobals());
}

/** Path segment of an id given on the command line. */
export function seg(id: string): string {
  return encodeURIComponent(id);
}

/**
 * The shape of a command that changes something: sends `body` to `method path` of the admin API and
 * prints the answer, as JSON with the command's `--json`, else as the `lines` a person reads of it.
 */
export async function changeAndPrint(
  cmd: Command,
  method: 'POST' | 'PUT' | 'PATCH',
  path: string,
  body: Row | undefined,
  lines: (answer: Row) => string[],
): Promise<void> {
  const answer = await callAdmin<Row>(targetOf(cmd), method, path, body);
  print(cmd.opts().json === true, answer, () => lines(answer));
}
