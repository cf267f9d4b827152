import type { Command } from 'commander';
import { callAdmin } from './admin-client.js';
import { seg, targetOf } from './command-kit.js';
import { fields, print, query, type Row, table } from './output.js';

/** `none` as given on the command line stays `'none'` (commander turns a parsed `null` into `''`). */
type OrNone<T> = T | 'none';

/** The body value of a limit option: `'none'` clears the limit. */
const orNull = <T>(value: OrNone<T> | undefined): T | null | undefined => (value === 'none' ? null : value);

/** `--rate-limit 100/1m` → `{limit: 100, window: "1m"}`. */
function rateLimit(text: string): OrNone<{ limit: number; window: string }> {
  if (text === 'none') return text;
  const m = /^(\d+)\/(\S+)$/.exec(text);
  if (!m) throw new Error(`--rate-limit: expected <n>/<window>, e.g. 100/1m, or none; got ${text}`);
  return { limit: Number(m[1]), window: m[2] ?? '' };
}

/** `--quota 5000/month` → `{limit: 5000, period: "month"}`. */
function quota(text: string): OrNone<{ limit: number; period: string }> {
  if (text === 'none') return text;
  const m = /^(\d+)\/(day|month)$/.exec(text);
  if (!m) throw new Error(`--quota: expected <n>/day or <n>/month, or none; got ${text}`);
  return { limit: Number(m[1]), period: m[2] ?? '' };
}

const COLUMNS = ['id', 'name', 'rateLimit', 'quota', 'updatedAt'];

/** `keyroll plans list|get|create|update|delete`: named rate limits and quotas. */
export function registerPlanCommands(program: Command): void {
  const plans = program.command('plans').description('manage plans (named rate limits and quotas)');
  plans
    .command('list')
    .option('--limit <n>', 'page size', '100')
    .option('--json', 'print JSON')
    .action(async (opts, cmd: Command) => {
      const page = await callAdmin<{ data: Row[] }>(targetOf(cmd), 'GET', `/v1/plans${query({ limit: opts.limit })}`);
      print(opts.json, page, () => table(page.data, COLUMNS));
    });
  plans
    .command('get <id>')
    .option('--json', 'print JSON')
    .action(async (id: string, opts, cmd: Command) => {
      const plan = await callAdmin<Row>(targetOf(cmd), 'GET', `/v1/plans/${seg(id)}`);
      print(opts.json, plan, () => fields(plan));
    });
  plans
    .command('create')
    .requiredOption('--name <name>', 'plan name (unique)')
    .option('--rate-limit <n/window>', 'e.g. 100/1m', rateLimit)
    .option('--quota <n/period>', 'e.g. 5000/month or 100/day', quota)
    .option('--json', 'print JSON')
    .action(async (opts, cmd: Command) => {
      const plan = await callAdmin<Row>(targetOf(cmd), 'POST', '/v1/plans', {
        name: opts.name,
        rateLimit: orNull(opts.rateLimit),
        quota: orNull(opts.quota),
      });
      print(opts.json, plan, () => [`created plan ${plan.id} (${plan.name})`]);
    });
  plans
    .command('update <id>')
    .description('change a plan; everyone on it follows at once')
    .option('--name <name>', 'new name')
    .option('--rate-limit <n/window>', 'e.g. 100/1m, or none', rateLimit)
    .option('--quota <n/period>', 'e.g. 5000/month, or none', quota)
    .option('--json', 'print JSON')
    .action(async (id: string, opts, cmd: Command) => {
      const plan = await callAdmin<Row>(targetOf(cmd), 'PATCH', `/v1/plans/${seg(id)}`, {
        name: opts.name,
        rateLimit: orNull(opts.rateLimit),
        quota: orNull(opts.quota),
      });
      print(opts.json, plan, () => [`updated plan ${plan.id} (${plan.name})`]);
    });
  plans
    .command('delete <id>')
    .description('delete a plan no consumer or key is on')
    .option('--json', 'print JSON')
    .action(async (id: string, opts, cmd: Command) => {
      await callAdmin(targetOf(cmd), 'DELETE', `/v1/plans/${seg(id)}`);
      print(opts.json, { id, deleted: true }, () => [`deleted plan ${id}`]);
    });
}
