import type { Command } from 'commander';
import { callAdmin } from './admin-client.js';
import { seg, targetOf } from './command-kit.js';
import { fields, print, query, type Row, table } from './output.js';

/** `keyroll alerts list|get|ack`: alerts raised by the rules, and their acknowledgement. */
export function registerAlertCommands(program: Command): void {
  const alerts = program.command('alerts').description('list and acknowledge alerts');
  alerts
    .command('list')
    .description('alerts, newest first')
    .option('--open', 'only unacknowledged alerts')
    .option('--rule <rule>', 'only this rule, e.g. retired_key_used')
    .option('--consumer <id>', 'only alerts about this consumer')
    .option('--limit <n>', 'page size', '100')
    .option('--json', 'print JSON')
    .action(async (opts, cmd: Command) => {
      const path = `/v1/alerts${query({
        acknowledged: opts.open ? false : undefined,
        rule: opts.rule,
        consumerId: opts.consumer,
        limit: opts.limit,
      })}`;
      const page = await callAdmin<{ data: Row[] }>(targetOf(cmd), 'GET', path);
      print(opts.json, page, () =>
        table(page.data, ['id', 'rule', 'severity', 'subject', 'raisedAt', 'acknowledgedAt', 'message']),
      );
    });
  alerts
    .command('get <id>')
    .option('--json', 'print JSON')
    .action(async (id: string, opts, cmd: Command) => {
      const alert = await callAdmin<Row>(targetOf(cmd), 'GET', `/v1/alerts/${seg(id)}`);
      print(opts.json, alert, () => fields(alert));
    });
  alerts
    .command('ack <id>')
    .description('acknowledge an alert')
    .option('--json', 'print JSON')
    .action(async (id: string, opts, cmd: Command) => {
      const alert = await callAdmin<Row>(targetOf(cmd), 'POST', `/v1/alerts/${seg(id)}/acknowledge`);
      print(opts.json, alert, () => [`alert ${alert.id} acknowledged by ${alert.acknowledgedBy}`]);
    });
}
