import type { Command } from 'commander';
import { callAdmin } from './admin-client.js';
import { type ClusterStatus, clusterLines } from './cluster-commands.js';
import { targetOf } from './command-kit.js';
import { print, type Row, table } from './output.js';

const percent = (share: unknown) => (typeof share === 'number' ? `${Math.round(share * 100)}%` : '-');

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
      const rolling = rotations.data.map((r) => ({
        ...r,
        shareOnNew: percent((r.progress as Row | undefined)?.shareOnNew),
      }));
      print(opts.json, { cluster, rotations: rotations.data, alerts: alerts.data }, () => [
        `Nodes (${cluster.nodes.length})`,
        ...clusterLines(cluster),
        '',
        `Rotations in flight (${rotations.data.length}${more(rotations)})`,
        ...table(rolling, ['id', 'consumerId', 'oldKeyId', 'newKeyId', 'retiresAt', 'shareOnNew']),
        '',
        `Open alerts (${alerts.data.length}${more(alerts)})`,
        ...table(alerts.data, ['id', 'severity', 'rule', 'subject', 'raisedAt']),
      ]);
    });
}
