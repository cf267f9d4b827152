import type { Command } from 'commander';
import { callAdmin } from './admin-client.js';
import { targetOf } from './command-kit.js';
import { print, type Row, table } from './output.js';

/** The answer of `GET /v1/cluster`. */
export interface ClusterStatus {
  node: string;
  head: number;
  nodes: Row[];
  changeFeed: Row;
}

/** Text lines of a cluster status: the head, then one row per live node and edge with its lag. */
export function clusterLines(status: ClusterStatus): string[] {
  const nodes = status.nodes.map((n) => ({ ...n, id: n.self ? `${n.id} (this)` : n.id }));
  return [
    `change log head ${status.head}; feed ${status.changeFeed.mode}${status.changeFeed.connected ? '' : ' (disconnected)'}`,
    ...table(nodes, ['id', 'kind', 'address', 'appliedSeq', 'lag', 'heartbeatAt']),
  ];
}

/** `keyroll cluster status`: live nodes and edges, and how far each has applied the change log. */
export function registerClusterCommands(program: Command): void {
  const cluster = program.command('cluster').description('nodes of this deployment');
  cluster
    .command('status')
    .description('live nodes and edges, the change-log sequence each has applied, and their lag')
    .option('--json', 'print JSON')
    .action(async (opts, cmd: Command) => {
      const status = await callAdmin<ClusterStatus>(targetOf(cmd), 'GET', '/v1/cluster');
      print(opts.json, status, () => clusterLines(status));
    });
}
