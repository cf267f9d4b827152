import type { Command } from 'commander';
import { callAdmin } from './admin-client.js';
import { changeAndPrint, seg, targetOf } from './command-kit.js';
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

/** A quota as the API takes it: a period, a refill, or both. */
type QuotaInput = { limit: number; period?: string; refill?: { amount: number; every: string } };

/**
 * `--quota 5000/month` → `{limit: 5000, period: "month"}`; `1000+100/day` → credits that refill
 * (`{limit: 1000, refill: {amount: 100, every: "day"}}`); `1000/month+100/day` both. The server
 * validates the values (an `every` duration, `amount` ≤ `limit`).
 */
function quota(text: string): OrNone<QuotaInput> {
  if (text === 'none') return text;
  const m = /^(\d+)(?:\/(day|month))?(?:\+(\d+)\/(\S+))?$/.exec(text);
  if (!m || (m[2] === undefined && m[3] === undefined)) {
    throw new Error(`--quota: expected <n>/day, <n>/month, <n>+<refill>/<every> (both allowed), or none; got ${text}`);
  }
  return {
    limit: Number(m[1]),
    ...(m[2] === undefined ? {} : { period: m[2] }),
    ...(m[3] === undefined ? {} : { refill: { amount: Number(m[3]), every: m[4] ?? '' } }),
  };
}

const COLUMNS = ['id', 'name', 'rateLimit', 'quota', 'updatedAt'];

/** The body of a plan's create or update from `--name`, `--rate-limit` and `--quota`. */
function planBody(opts: { name?: string; rateLimit?: OrNone<unknown>; quota?: OrNone<unknown> }): Row {
  return { name: opts.name, rateLimit: orNull(opts.rateLimit), quota: orNull(opts.quota) };
}

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
    .option('--quota <n/period>', 'e.g. 5000/month, 100/day or 1000+100/day (refilling credits)', quota)
    .option('--json', 'print JSON')
    .action((opts, cmd: Command) =>
      changeAndPrint(cmd, 'POST', '/v1/plans', planBody(opts), (plan) => [`created plan ${plan.id} (${plan.name})`]),
    );
  plans
    .command('update <id>')
    .description('change a plan; everyone on it follows at once')
    .option('--name <name>', 'new name')
    .option('--rate-limit <n/window>', 'e.g. 100/1m, or none', rateLimit)
    .option('--quota <n/period>', 'e.g. 5000/month, 1000+100/day, or none', quota)
    .option('--json', 'print JSON')
    .action((id: string, opts, cmd: Command) =>
      changeAndPrint(cmd, 'PATCH', `/v1/plans/${seg(id)}`, planBody(opts), (plan) => [
        `updated plan ${plan.id} (${plan.name})`,
      ]),
    );
  plans
    .command('delete <id>')
    .description('delete a plan no consumer or key is on')
    .option('--json', 'print JSON')
    .action(async (id: string, opts, cmd: Command) => {
      await callAdmin(targetOf(cmd), 'DELETE', `/v1/plans/${seg(id)}`);
      print(opts.json, { id, deleted: true }, () => [`deleted plan ${id}`]);
    });
}
