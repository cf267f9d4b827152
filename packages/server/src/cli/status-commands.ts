import type { Command } from 'commander';
import { callAdmin } from './admin-client.js';
import { type ClusterStatus, clusterLines } from './cluster-commands.js';
import { targetOf } from './command-kit.js';
import { print, type Row, table } from './output.js';

const percent = (share: unknown) => (typeof share === 'number' ? `${Math.round(share * 100)}%` : '-');

/** The names of the consumers `rows` name by `consumerId`, one lookup per consumer (a deleted one keeps its id). */
async function consumerNames(t: ReturnType<typeof targetOf>, rows: Row[]): Promise<Map<string, string>> {
  const ids = [...new Set(rows.map((r) => String(r.consumerId)))];
  const found = await Promise.all(
    ids.map((id) =>
      callAdmin<{ name: string }>(t, 'GET', `/v1/consumers/${encodeURIComponent(id)}`).then(
        (c) => [id, c.name] as const,
        () => null,
      ),
    ),
  );
  return new Map(found.filter((f) => f !== null));
}

/** `keyroll status`: one screen of nodes, rotations in flight and open alerts. */
export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('one screen: nodes, rotations in flight, open alerts')
    .option('--json', 'print JSON')
    .action(async (opts, cmd: Command) => {
      const t = targetOf(cmd);
      const [cluster, rotations, alerts] = await Promise.all([
        callAdmin<ClusterStatus>(t, 'GET', '/v1/cluster'),
        callAdmin<{ data: Row[]; nextCursor: string | null }>(t, 'GET', '/v1/rotations?state=rolling&limit=100'),
        callAdmin<{ data: Row[]; nextCursor: string | null }>(t, 'GET', '/v1/alerts?acknowledged=false&limit=100'),
      ]);
      const more = (page: { nextCursor: string | null }) => (page.nextCursor ? ' (first 100)' : '');
      const names = await consumerNames(t, rotations.data);
      const rolling = rotations.data.map((r) => ({
        ...r,
        consumer: names.get(String(r.consumerId)) ?? r.consumerId,
        shareOnNew: percent((r.progress as Row | undefined)?.shareOnNew),
      }));
      print(opts.json, { cluster, rotations: rotations.data, alerts: alerts.data }, () => [
        `Nodes (${cluster.nodes.length})`,
        ...clusterLines(cluster),
        '',
        `Rotations in flight (${rotations.data.length}${more(rotations)})`,
        ...table(rolling, ['id', 'consumer', 'oldKeyId', 'newKeyId', 'retiresAt', 'shareOnNew']),
        '',
        `Open alerts (${alerts.data.length}${more(alerts)})`,
        ...table(alerts.data, ['id', 'severity', 'rule', 'subject', 'raisedAt']),
      ]);
    });
}
