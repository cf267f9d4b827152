#!/usr/bin/env node
import { buildCli } from './cli/commands.js';
import { reportError } from './cli/errors.js';

buildCli()
  .parseAsync(process.argv)
  .catch((e: unknown) => {
    reportError(e, process.argv.includes('--json'));
    process.exit(1);
  });
