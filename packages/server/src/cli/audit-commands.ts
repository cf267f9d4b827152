import { type Command, Option } from 'commander';
import { csvField } from '../export/csv-field.js';
import { adminPages, callAdmin } from './admin-client.js';
import { targetOf } from './command-kit.js';
import { print, query, type Row, table } from './output.js';

const CSV_COLUMNS = ['seq', 'id', 'at', 'actor', 'action', 'targetType', 'targetId', 'data', 'hash', 'prevHash'];

/** Writes to stdout, waiting while the reader is behind. */
async function write(text: string): Promise<void> {
  if (!process.stdout.write(text)) await new Promise((done) => process.stdout.once('drain', done));
}

/** `keyroll audit list|verify|export`: the hash-chained audit log. */
export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('read, check and export the audit log');
  audit
    .command('list')
    .description('audit events, newest first by default')
    .addOption(new Option('--order <order>', 'asc: oldest first').choices(['asc', 'desc']).default('desc'))
    .option('--actor <actor>', 'only events by this actor, e.g. root:<key id>')
    .option('--action <action>', 'only this action, e.g. key.revoked')
    .option('--target <id>', 'only events about this id')
    .option('--from <instant>', 'ISO 8601, inclusive')
    .option('--to <instant>', 'ISO 8601, inclusive')
    .option('--limit <n>', 'page size', '100')
    .option('--json', 'print JSON')
    .action(async (opts, cmd: Command) => {
      const path = `/v1/audit${query({
        order: opts.order,
        actor: opts.actor,
        action: opts.action,
        targetId: opts.target,
        from: opts.from,
        to: opts.to,
        limit: opts.limit,
      })}`;
      const page = await callAdmin<{ data: Row[] }>(targetOf(cmd), 'GET', path);
      print(opts.json, page, () => table(page.data, ['seq', 'at', 'actor', 'action', 'targetType', 'targetId']));
    });
  audit
    .command('verify')
    .description('check the hash chain end to end; exits 2 when it is broken')
    .option('--full', 're-hash every event, ignoring checkpoints')
    .option('--json', 'print JSON')
    .action(async (opts, cmd: Command) => {
      const report = await callAdmin<Row>(targetOf(cmd), 'GET', `/v1/audit/verify${query({ full: opts.full })}`);
      print(opts.json, report, () =>
        report.ok
          ? [`audit chain ok: ${report.events} events, head ${report.head} (${report.checked} re-hashed)`]
          : [`audit chain BROKEN: ${report.reason ?? ''} ${report.detail ?? ''}`.trim()],
      );
      if (!report.ok) process.exitCode = 2;
    });
  audit
    .command('export')
    .description('stream every matching event, oldest first, page by page')
    .addOption(new Option('--format <format>', 'output format').choices(['ndjson', 'csv']).default('ndjson'))
    .option('--from <instant>', 'ISO 8601, inclusive')
    .option('--to <instant>', 'ISO 8601, inclusive')
    .option('--json', 'errors as JSON (the events are ndjson unless --format csv)')
    .action(async (opts, cmd: Command) => {
      const path = `/v1/audit${query({ from: opts.from, to: opts.to, limit: 100 })}`;
      const csv = opts.format === 'csv';
      if (csv) await write(`${CSV_COLUMNS.join(',')}\r\n`);
      for await (const event of adminPages<Row>(targetOf(cmd), path)) {
        await write(csv ? `${CSV_COLUMNS.map((c) => csvField(event[c])).join(',')}\r\n` : `${JSON.stringify(event)}\n`);
      }
    });
}
