import { readDuration } from '@keyroll/core';
import { type Command, Option } from 'commander';
import { callAdmin } from './admin-client.js';
import { seg, targetOf } from './command-kit.js';
import { print, query } from './output.js';
import { sparkline } from './sparkline.js';

/** The answer of `GET /v1/keys/:id/usage`. */
interface KeyUsage {
  keyId: string;
  granularity: string;
  from: string;
  to: string;
  total: number;
  codes: Record<string, number>;
  buckets: { start: string; total: number; codes: Record<string, number> }[];
}

const BUCKET_MS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;
type Granularity = keyof typeof BUCKET_MS;
/** The most buckets the API gives in one answer. */
const MAX_BUCKETS = 1440;

/** The finest bucket size that covers `ms` in one answer. */
function granularityFor(ms: number): Granularity {
  if (ms <= BUCKET_MS.minute * MAX_BUCKETS) return 'minute';
  return ms <= BUCKET_MS.hour * MAX_BUCKETS ? 'hour' : 'day';
}

/** `keyroll usage key <id> --since 7d`: a key's verifications over time, with a sparkline. */
export function registerUsageCommands(program: Command): void {
  const usage = program.command('usage').description('usage over time');
  usage
    .command('key <id>')
    .description("a key's verifications by outcome code, with a sparkline")
    .option('--since <duration>', 'how far back, e.g. 24h or 7d', '24h')
    .addOption(new Option('--granularity <size>', 'bucket size').choices(['minute', 'hour', 'day']))
    .option('--json', 'print JSON')
    .action(async (id: string, opts, cmd: Command) => {
      const since = readDuration(opts.since);
      if (!('ms' in since) || since.ms <= 0) throw new Error(`--since: not a duration (e.g. 24h, 7d): ${opts.since}`);
      const granularity: Granularity = opts.granularity ?? granularityFor(since.ms);
      const t = targetOf(cmd);
      const path = `/v1/keys/${seg(id)}/usage`;
      // The server's clock decides "now": ask it first, then read the window that ends there.
      const now = await callAdmin<KeyUsage>(t, 'GET', `${path}${query({ granularity })}`);
      const from = new Date(Date.parse(now.to) - since.ms).toISOString();
      const found = await callAdmin<KeyUsage>(t, 'GET', `${path}${query({ from, to: now.to, granularity })}`);
      print(opts.json, found, () => [
        `key ${found.keyId}: ${found.total} verifications from ${found.from} to ${found.to} (per ${found.granularity})`,
        `|${sparkline(found.buckets.map((b) => b.total))}|`,
        Object.entries(found.codes)
          .map(([code, n]) => `${code} ${n}`)
          .join('  ') || '(no requests)',
      ]);
    });
}
