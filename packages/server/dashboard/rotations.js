// Rotations: the progress of every rotation (one rotation, live, is in rotation.js).
import { api, query } from './api.js';
import { badge, el, link, replace, when } from './dom.js';
import { consumerLink } from './names.js';
import { pagedTable } from './paged.js';
import { shareBar } from './share-bar.js';

/** Renders the rotations list into `view`. */
export function rotationsView(view) {
  const state = el(
    'select',
    { name: 'state' },
    ['rolling', 'completed', 'rolled_back', ''].map((s) => el('option', { value: s }, s || 'all')),
  );
  const list = el('div');
  const show = () =>
    replace(
      list,
      pagedTable(
        ['Rotation', 'Consumer', 'State', 'Progress', 'Old key last used', 'Retires', 'Started'],
        (cursor) => api('GET', `/v1/rotations${query({ state: state.value, limit: 50, cursor })}`),
        (r) => [
          link(`/rotations/${encodeURIComponent(r.id)}`, r.id),
          consumerLink(r.consumerId),
          badge(r.state),
          shareBar(r.progress.shareOnNew),
          when(r.progress.oldKeyLastUsedAt),
          when(r.retiresAt),
          when(r.startedAt),
        ],
        'No rotations in this state.',
      ),
    );
  state.addEventListener('change', show);
  replace(view, el('h1', {}, 'Rotations'), el('label', { class: 'filter' }, 'State ', state), list);
  show();
}
