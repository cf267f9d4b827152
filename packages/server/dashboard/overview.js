// Overview: counts, requests by outcome, rotations in flight, cluster nodes, and the audit chain check on request.
import { api, query } from './api.js';
import { chainButtons } from './audit.js';
import { clusterTable } from './cluster.js';
import { badge, el, link, problemBox, replace, table, when } from './dom.js';
import { consumerLink } from './names.js';
import { shareBar } from './share-bar.js';
import { usagePanel } from './usage-chart.js';

const KEY_STATUSES = ['active', 'deprecated', 'retired', 'revoked', 'expired'];

/** Counts the items of a list endpoint up to one page of 100 ("100+" beyond). */
async function count(path, params = {}) {
  const page = await api('GET', `${path}${query({ ...params, limit: 100 })}`);
  return `${page.data.length}${page.nextCursor ? '+' : ''}`;
}

/** A card whose body is filled by `fill()`, or shows its problem. */
function card(title, fill) {
  const body = el('div', { class: 'card-body' }, el('span', { class: 'muted' }, 'Loading…'));
  fill().then(
    (content) => replace(body, content),
    (err) => replace(body, problemBox(err)),
  );
  return el('section', { class: 'card' }, el('h2', {}, title), body);
}

/** A big number with a label and a link. */
function stat(value, label, route) {
  return el('div', { class: 'stat' }, el('div', { class: 'stat-value' }, value), link(route, label));
}

/** Renders the overview into `view`. */
export function overviewView(view) {
  replace(
    view,
    el('h1', {}, 'Overview'),
    el(
      'div',
      { class: 'grid' },
      card('Consumers', async () => stat(await count('/v1/consumers'), 'consumers', '/consumers')),
      card('Rotations rolling', async () =>
        stat(await count('/v1/rotations', { state: 'rolling' }), 'in progress', '/rotations'),
      ),
      card('Open alerts', async () =>
        stat(await count('/v1/alerts', { acknowledged: false }), 'unacknowledged', '/alerts'),
      ),
      card('Audit chain', async () => {
        // Checked only when asked: a check re-hashes events, the overview loads often.
        const result = el('div', { 'data-testid': 'audit-chain' });
        return el('div', { class: 'stat' }, chainButtons(result), result);
      }),
    ),
    card('Keys by status', async () => {
      const counts = await Promise.all(KEY_STATUSES.map((s) => count('/v1/keys', { status: s })));
      return el(
        'div',
        { class: 'status-row' },
        KEY_STATUSES.map((s, i) =>
          el('div', { class: 'stat' }, el('div', { class: 'stat-value' }, counts[i]), badge(s)),
        ),
      );
    }),
    usagePanel([{ label: 'all keys', params: {} }]),
    card('Rotations in flight', async () => {
      const page = await api('GET', `/v1/rotations${query({ state: 'rolling', limit: 10 })}`);
      return table(
        ['Rotation', 'Consumer', 'Progress', 'Deadline'],
        page.data.map((r) => [
          link(`/rotations/${encodeURIComponent(r.id)}`, r.id),
          consumerLink(r.consumerId),
          shareBar(r.progress.shareOnNew),
          when(r.retiresAt),
        ]),
        'No rotation in flight.',
      );
    }),
    card('Cluster', clusterTable),
  );
}
