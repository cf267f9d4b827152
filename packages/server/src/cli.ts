#!/usr/bin/env node
import { CommanderError } from 'commander';
import { buildCli } from './cli/commands.js';
import { reportError } from './cli/errors.js';
import { throwUsageErrors } from './cli/usage-errors.js';

const json = process.argv.includes('--json');
const program = buildCli();
throwUsageErrors(program, json);
program.parseAsync(process.argv).catch((e: unknown) => {
  if (e instanceof CommanderError) {
    // Help asked for, or a usage error commander has already printed (unless --json).
    if (json && e.exitCode !== 0) reportError(e, true);
    process.exit(e.exitCode);
  }
  reportError(e, json);
  process.exit(1);
});
