import { type Command, Option } from 'commander';
import { callAdmin } from './admin-client.js';
import { changeAndPrint, seg, targetOf } from './command-kit.js';
import { fields, print, query, type Row, table } from './output.js';

const list = (v: string) => v.split(',').filter(Boolean);

/** `keyroll webhooks list|get|create|delete|deliveries|redeliver`: event subscriptions and their deliveries. */
export function registerWebhookCommands(program: Command): void {
  const webhooks = program.command('webhooks').description('manage webhooks and inspect their deliveries');
  webhooks
    .command('list')
    .option('--consumer <id>', 'only webhooks of this consumer')
    .option('--limit <n>', 'page size', '100')
    .option('--json', 'print JSON')
    .action(async (opts, cmd: Command) => {
      const path = `/v1/webhooks${query({ consumerId: opts.consumer, limit: opts.limit })}`;
      const page = await callAdmin<{ data: Row[] }>(targetOf(cmd), 'GET', path);
      print(opts.json, page, () => table(page.data, ['id', 'url', 'events', 'consumerId', 'enabled']));
    });
  webhooks
    .command('get <id>')
    .option('--json', 'print JSON')
    .action(async (id: string, opts, cmd: Command) => {
      const hook = await callAdmin<Row>(targetOf(cmd), 'GET', `/v1/webhooks/${seg(id)}`);
      print(opts.json, hook, () => fields(hook));
    });
  webhooks
    .command('create')
    .requiredOption('--endpoint <url>', 'http(s) URL receiving the events')
    .requiredOption('--events <list>', 'comma-separated event types, "family.*" or "*"', list)
    .option('--consumer <id>', "only this consumer's events")
    .option('--description <text>', 'what it is for')
    .option('--json', 'print JSON')
    .action((opts, cmd: Command) =>
      changeAndPrint(
        cmd,
        'POST',
        '/v1/webhooks',
        { url: opts.endpoint, events: opts.events, consumerId: opts.consumer, description: opts.description },
        (hook) => [`created webhook ${hook.id}`, `signing secret (shown once): ${hook.secret}`],
      ),
    );
  webhooks
    .command('delete <id>')
    .option('--json', 'print JSON')
    .action(async (id: string, opts, cmd: Command) => {
      await callAdmin(targetOf(cmd), 'DELETE', `/v1/webhooks/${seg(id)}`);
      print(opts.json, { id, deleted: true }, () => [`deleted webhook ${id}`]);
    });
  webhooks
    .command('deliveries <id>')
    .description("a webhook's deliveries, newest first")
    .addOption(
      new Option('--status <status>', 'only this status').choices(['pending', 'retrying', 'delivered', 'dead']),
    )
    .option('--limit <n>', 'page size', '100')
    .option('--json', 'print JSON')
    .action(async (id: string, opts, cmd: Command) => {
      const path = `/v1/webhooks/${seg(id)}/deliveries${query({ status: opts.status, limit: opts.limit })}`;
      const page = await callAdmin<{ data: Row[] }>(targetOf(cmd), 'GET', path);
      print(opts.json, page, () =>
        table(page.data, ['id', 'eventType', 'status', 'attempts', 'responseStatus', 'lastAttemptAt']),
      );
    });
  webhooks
    .command('redeliver <id> <deliveryId>')
    .description('queue a delivery again, with a fresh attempt budget')
    .option('--json', 'print JSON')
    .action((id: string, deliveryId: string, _opts, cmd: Command) =>
      changeAndPrint(cmd, 'POST', `/v1/webhooks/${seg(id)}/deliveries/${seg(deliveryId)}/redeliver`, undefined, (d) => [
        `delivery ${d.id} is ${d.status}`,
      ]),
    );
}
