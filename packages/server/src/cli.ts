#!/usr/bin/env node
import { AdminApiError } from './cli/admin-client.js';
import { buildCli } from './cli/commands.js';

buildCli()
  .parseAsync(process.argv)
  .catch((e: unknown) => {
    process.stderr.write(`keyroll: ${e instanceof AdminApiError || e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
