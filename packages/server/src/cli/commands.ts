import { Command, Option } from 'commander';
import { callAdmin } from './admin-client.js';
import { registerAlertCommands } from './alert-commands.js';
import { registerAuditCommands } from './audit-commands.js';
import { registerClusterCommands } from './cluster-commands.js';
import { changeAndPrint, seg, targetOf } from './command-kit.js';
import { registerCompletionCommand } from './completion-commands.js';
import { edge } from './edge.js';
import { addIncidentCommands } from './incident-commands.js';
import { addLeakCommands } from './leak-commands.js';
import { print, type Row, table } from './output.js';
import { registerPlanCommands } from './plan-commands.js';
import { registerPolicyCommands } from './policy-commands.js';
import { saveRotatedRootKey } from './root-key-file.js';
import {
  addWatchCommand,
  DEFAULT_WATCH_INTERVAL,
  ROLLED_BACK_EXIT_CODE,
  watchFromCli,
  watchInterval,
} from './rotation-watch.js';
import { registerSearchCommand } from './search-commands.js';
import { serve } from './serve.js';
import { registerStatusCommand } from './status-commands.js';
import { registerUsageCommands } from './usage-commands.js';
import { registerWebhookCommands } from './webhook-commands.js';

/** The `keyroll` command line: `serve`, and every admin command group against a running server. */
export function buildCli(): Command {
  const program = new Command('keyroll').description('API keys with zero-downtime rotation').showHelpAfterError();
  program
    .option('--url <url>', 'server URL (default $KEYROLL_URL or http://127.0.0.1:7070)')
    .option('--root-key <key>', 'root key (default $KEYROLL_ROOT_KEY or <data dir>/root-key)');

  program
    .command('serve')
    .description('run a keyroll node (configured by KEYROLL_* variables)')
    .option('--json', 'print the start as one JSON line (url, storage, root key on the first start)')
    .action((opts) => serve(opts));
  program
    .command('edge')
    .description('run an edge verifier following a node over HTTPS, without a database (KEYROLL_EDGE_* variables)')
    .option('--json', 'print the start as one JSON line')
    .action((opts) => edge(opts));

  const consumers = program.command('consumers').description('manage consumers');
  consumers
    .command('create')
    .requiredOption('--name <name>', 'display name')
    .option('--external-id <id>', 'your own id for this consumer')
    .option('--json', 'print JSON')
    .action((opts, cmd: Command) =>
      changeAndPrint(cmd, 'POST', '/v1/consumers', { name: opts.name, externalId: opts.externalId }, (c) => [
        `created consumer ${c.id} (${c.name})`,
      ]),
    );
  consumers
    .command('list')
    .option('--limit <n>', 'page size', '100')
    .option('--json', 'print JSON')
    .action(async (opts, cmd: Command) => {
      const page = await callAdmin<{ data: Row[] }>(
        targetOf(cmd),
        'GET',
        `/v1/consumers?limit=${encodeURIComponent(opts.limit)}`,
      );
      print(opts.json, page, () => table(page.data, ['id', 'name', 'externalId', 'createdAt']));
    });

  const keys = program.command('keys').description('manage keys');
  keys
    .command('create')
    .requiredOption('--consumer <id>', 'consumer id (root for a root key)')
    .option('--name <name>', 'key name')
    .option('--scopes <list>', 'comma-separated scopes', (v: string) => v.split(',').filter(Boolean))
    .option('--expires-in <duration>', 'lifetime, e.g. 90d')
    .option('--json', 'print JSON')
    .action((opts, cmd: Command) =>
      changeAndPrint(
        cmd,
        'POST',
        '/v1/keys',
        { consumerId: opts.consumer, name: opts.name, scopes: opts.scopes, expiresIn: opts.expiresIn },
        (k) => [`created key ${k.id} (version ${k.version}) for ${k.consumerId}`, `secret (shown once): ${k.key}`],
      ),
    );
  keys
    .command('list')
    .option('--consumer <id>', 'only this consumer')
    .addOption(
      new Option('--status <status>', 'only this status').choices([
        'active',
        'deprecated',
        'retired',
        'revoked',
        'expired',
      ]),
    )
    .option('--limit <n>', 'page size', '100')
    .option('--json', 'print JSON')
    .action(async (opts, cmd: Command) => {
      const q = new URLSearchParams({ limit: opts.limit });
      if (opts.consumer) q.set('consumerId', opts.consumer);
      if (opts.status) q.set('status', opts.status);
      const page = await callAdmin<{ data: Row[] }>(targetOf(cmd), 'GET', `/v1/keys?${q}`);
      print(opts.json, page, () =>
        table(page.data, ['id', 'consumerId', 'name', 'hint', 'version', 'status', 'scopes']),
      );
    });
  keys
    .command('revoke <id>')
    .option('--reason <reason>', 'why')
    .option('--json', 'print JSON')
    .action((id: string, opts, cmd: Command) =>
      changeAndPrint(cmd, 'POST', `/v1/keys/${seg(id)}/revoke`, { reason: opts.reason }, (k) => [
        `revoked key ${k.id} (${k.revokeReason})`,
      ]),
    );
  keys
    .command('rotate <id>')
    .description('issue a successor; the old key stays valid for the grace period (0 = emergency rollover)')
    .requiredOption('--grace <duration>', 'overlap window, e.g. 24h (0 revokes the old key now)')
    .option('--wait', `then follow the rotation until it ends (exit ${ROLLED_BACK_EXIT_CODE} when rolled back)`)
    .option('--interval <duration>', 'with --wait: time between polls', DEFAULT_WATCH_INTERVAL)
    .option('--json', 'print JSON (with --wait: the answer on one line, then NDJSON progress lines)')
    .action(async (id: string, opts, cmd: Command) => {
      const t = targetOf(cmd);
      const intervalMs = watchInterval(opts.interval);
      const r = await callAdmin<{ key: string; newKeyId: string; rotation: Row }>(
        t,
        'POST',
        `/v1/keys/${encodeURIComponent(id)}/rotate`,
        { gracePeriod: opts.grace },
      );
      // The CLI rotated the very root key it read from the root-key file: the file gets the successor.
      const saved = await saveRotatedRootKey(t, id, r.key);
      const answer = { ...r, ...(saved && { rootKeyFile: saved }) };
      const lines = () => [
        saved ? `the successor was written to ${saved} (0600)` : `secret (shown once): ${r.key}`,
        `rotation ${r.rotation.id}: ${id} → ${r.newKeyId}; the old key retires at ${r.rotation.retiresAt}`,
      ];
      if (!opts.wait) return print(opts.json, answer, lines);
      // The secret comes first, before any progress: the watch may run for hours.
      process.stdout.write(opts.json ? `${JSON.stringify(answer)}\n` : `${lines().join('\n')}\n`);
      // Having rotated its own root key (with grace 0 it is revoked already), the CLI watches with the successor.
      await watchFromCli(saved ? { ...t, rootKey: r.key } : t, String(r.rotation.id), intervalMs, opts.json === true);
    });

  const rotations = program.command('rotations').description('watch and steer rotations');
  rotations
    .command('list')
    .addOption(new Option('--state <state>', 'only this state').choices(['rolling', 'completed', 'rolled_back']))
    .option('--consumer <id>', 'only this consumer')
    .option('--limit <n>', 'page size', '100')
    .option('--json', 'print JSON')
    .action(async (opts, cmd: Command) => {
      const q = new URLSearchParams({ limit: opts.limit });
      if (opts.state) q.set('state', opts.state);
      if (opts.consumer) q.set('consumerId', opts.consumer);
      const page = await callAdmin<{ data: Row[] }>(targetOf(cmd), 'GET', `/v1/rotations?${q}`);
      const rows = page.data.map((r) => ({ ...r, shareOnNew: (r.progress as Row | undefined)?.shareOnNew }));
      print(opts.json, page, () =>
        table(rows, ['id', 'consumerId', 'state', 'oldKeyId', 'newKeyId', 'retiresAt', 'shareOnNew']),
      );
    });
  for (const [name, description] of [
    ['rollback', 'make the old key active again and revoke the successor'],
    ['complete', 'retire the old key now'],
  ] as const) {
    rotations
      .command(`${name} <id>`)
      .description(description)
      .option('--json', 'print JSON')
      .action((id: string, _opts, cmd: Command) =>
        changeAndPrint(cmd, 'POST', `/v1/rotations/${seg(id)}/${name}`, undefined, (r) => [
          `rotation ${r.id} is ${r.state}`,
        ]),
      );
  }
  addWatchCommand(rotations);
  rotations
    .command('extend <id>')
    .description("push back the old key's retirement")
    .requiredOption('--by <duration>', 'how much longer, e.g. 2d')
    .option('--json', 'print JSON')
    .action((id: string, opts, cmd: Command) =>
      changeAndPrint(cmd, 'POST', `/v1/rotations/${seg(id)}/extend`, { by: opts.by }, (r) => [
        `rotation ${r.id}: the old key now retires at ${r.retiresAt}`,
      ]),
    );
  addLeakCommands(program);
  addIncidentCommands(program);
  registerPlanCommands(program);
  registerWebhookCommands(program);
  registerPolicyCommands(program);
  registerAlertCommands(program);
  registerAuditCommands(program);
  registerClusterCommands(program);
  registerUsageCommands(program);
  registerStatusCommand(program);
  registerSearchCommand(program);
  registerCompletionCommand(program);
  return program;
}
