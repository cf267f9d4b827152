import type { Command } from 'commander';
import { callAdmin } from './admin-client.js';
import { targetOf } from './command-kit.js';
import { print, query, type Row, table } from './output.js';

/** `keyroll search <text>`: consumers and keys by name, external id, key hint (or its last characters) or id. */
export function registerSearchCommand(program: Command): void {
  program
    .command('search <text>')
    .description('find consumers and keys by name, external id, key hint (or last characters) or id')
    .option('--limit <n>', 'the most of each', '20')
    .option('--json', 'print JSON')
    .action(async (text: string, opts, cmd: Command) => {
      const t = targetOf(cmd);
      const q = query({ q: text, limit: opts.limit });
      const [consumers, keys] = await Promise.all([
        callAdmin<{ data: Row[]; nextCursor: string | null }>(t, 'GET', `/v1/consumers${q}`),
        callAdmin<{ data: Row[]; nextCursor: string | null }>(t, 'GET', `/v1/keys${q}`),
      ]);
      print(opts.json, { consumers, keys }, () => [
        `Consumers (${consumers.data.length}${consumers.nextCursor ? '+' : ''})`,
        ...table(consumers.data, ['id', 'name', 'externalId']),
        '',
        `Keys (${keys.data.length}${keys.nextCursor ? '+' : ''})`,
        ...table(keys.data, ['id', 'consumerId', 'name', 'hint', 'status']),
      ]);
    });
}
