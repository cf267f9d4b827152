// Cluster: the nodes, how far each is behind the change log, and the change feed; refreshed while shown.
import { api } from './api.js';
import { badge, el, problemBox, replace, table, when } from './dom.js';
import { poll } from './lifecycle.js';

/** How often the cluster view is read again. */
const POLL_MS = 5000;

/** The cluster status as a table of nodes with their lag. */
export async function clusterTable() {
  const c = await api('GET', '/v1/cluster');
  return el(
    'div',
    {},
    el('p', { class: 'muted' }, `Change feed: ${c.changeFeed.mode}, head #${c.head}, this node ${c.node}`),
    table(
      ['Node', 'Address', 'Applied', 'Lag', 'Heartbeat', ''],
      c.nodes.map((n) => [
        n.id,
        n.address,
        `#${n.appliedSeq}`,
        n.lag === 0 ? badge('0 behind', 'ok') : badge(`${n.lag} behind`, 'deprecated'),
        when(n.heartbeatAt),
        n.self ? badge('this node', 'active') : '',
      ]),
      'No nodes have reported.',
    ),
  );
}

/** Renders the cluster into `view`, read again every few seconds. */
export function clusterView(view) {
  const body = el('div', { 'data-testid': 'cluster' }, el('span', { class: 'muted' }, 'Loading…'));
  const load = async () => {
    try {
      replace(body, await clusterTable());
    } catch (err) {
      replace(body, problemBox(err));
    }
  };
  replace(view, el('h1', {}, 'Cluster'), body);
  load();
  poll(POLL_MS, load);
}
