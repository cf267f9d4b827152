import type { Command } from 'commander';

/**
 * Makes every command throw its usage errors (an unknown option, a value outside its choices, a
 * missing argument) as a `CommanderError` instead of exiting, so that they are reported like any
 * other failure; with `json`, commander's message and help are kept off stderr (the JSON error says it).
 */
export function throwUsageErrors(program: Command, json: boolean): void {
  const visit = (cmd: Command): void => {
    cmd.exitOverride();
    if (json) cmd.configureOutput({ outputError: () => {}, writeErr: () => {} });
    for (const sub of cmd.commands) visit(sub);
  };
  visit(program);
}
