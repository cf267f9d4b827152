import { CommanderError } from 'commander';
import { AdminApiError, AdminUnreachableError } from './admin-client.js';

/** A failed command as the CLI reports it: the problem's code and detail, and the URL tried. */
export interface CliProblem {
  /**
   * The problem's `code`; `UNREACHABLE` when no answer came; `USAGE` for a command line commander
   * refused; `CLI_ERROR` for another local failure.
   */
  code: string;
  /** The HTTP status of the answer, when there was one. */
  status?: number;
  detail: string;
  url?: string;
}

/** What went wrong, from any error a command throws. */
export function cliProblem(e: unknown): CliProblem {
  if (e instanceof AdminApiError) return { code: e.code, status: e.status, detail: e.detail, url: e.url };
  if (e instanceof AdminUnreachableError) return { code: e.code, detail: e.reason, url: e.url };
  if (e instanceof CommanderError) return { code: 'USAGE', detail: e.message.replace(/^error: /, '') };
  return { code: 'CLI_ERROR', detail: e instanceof Error ? e.message : String(e) };
}

/**
 * Reports a failed command: `{"error": {code, status?, detail, url?}}` on one line of stdout with
 * `--json` (so a streamed NDJSON export that fails midway stays one object per line), else
 * `keyroll: <status> <code>: <detail> (<url>)` on stderr. The caller exits non-zero.
 */
export function reportError(e: unknown, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify({ error: cliProblem(e) })}\n`);
    return;
  }
  process.stderr.write(`keyroll: ${e instanceof Error ? e.message : String(e)}\n`);
}
