// Incidents: leaked keys, open ones first, and the story of one (timeline, recent use, checklist).
import { api, query } from './api.js';
import { badge, el, link, problemBox, replace, table, when } from './dom.js';
import { pagedTable } from './paged.js';

/** Renders the incidents list into `view`. */
export function incidentsView(view) {
  const filter = el(
    'select',
    { name: 'status' },
    el('option', { value: 'open' }, 'open'),
    el('option', { value: '' }, 'all'),
  );
  const list = el('div');
  const show = () =>
    replace(
      list,
      pagedTable(
        ['Incident', 'Status', 'Key', 'Consumer', 'Action', 'Source', 'Reported', 'Stops'],
        (cursor) => api('GET', `/v1/incidents${query({ status: filter.value, limit: 50, cursor })}`),
        (i) => [
          link(`/incidents/${encodeURIComponent(i.id)}`, i.id),
          badge(i.status),
          i.keyHint,
          link(`/consumers/${encodeURIComponent(i.consumerId)}`, i.consumerId),
          i.action,
          i.source,
          when(i.reportedAt),
          when(i.revokesAt),
        ],
        'No open incidents.',
      ),
    );
  filter.addEventListener('change', show);
  replace(view, el('h1', {}, 'Incidents'), el('label', { class: 'filter' }, 'Show ', filter), list);
  show();
}

/** Renders one incident into `view`. */
export async function incidentView(view, id) {
  let i;
  try {
    i = await api('GET', `/v1/incidents/${encodeURIComponent(id)}`);
  } catch (err) {
    replace(view, link('/incidents', '← Incidents'), problemBox(err));
    return;
  }
  replace(
    view,
    link('/incidents', '← Incidents'),
    el('h1', {}, 'Incident ', el('code', {}, i.id), ' ', badge(i.status)),
    el(
      'dl',
      { class: 'facts' },
      el('dt', {}, 'Key'),
      el('dd', {}, el('code', {}, i.keyId), ` (${i.keyHint}, ${i.keyStatus})`),
      el('dt', {}, 'Consumer'),
      el('dd', {}, link(`/consumers/${encodeURIComponent(i.consumerId)}`, i.consumerId)),
      el('dt', {}, 'Reported'),
      el('dd', {}, `${when(i.reportedAt)} by ${i.reportedBy} (${i.source})`),
      i.url ? [el('dt', {}, 'Where'), el('dd', {}, i.url)] : null,
      el('dt', {}, 'Action'),
      el('dd', {}, i.gracePeriod ? `${i.action}, grace ${i.gracePeriod}` : i.action),
      el('dt', {}, 'Key stops'),
      el('dd', {}, when(i.revokesAt)),
      i.rotationId
        ? [
            el('dt', {}, 'Successor'),
            el(
              'dd',
              {},
              i.successorClaimedAt ? `claimed ${when(i.successorClaimedAt)}` : 'not claimed yet',
              ' · ',
              link(`/rotations/${encodeURIComponent(i.rotationId)}`, i.rotationId),
            ),
          ]
        : null,
    ),
    el('h2', {}, 'Timeline'),
    table(
      ['At', 'Step'],
      i.timeline.map((e) => [when(e.at), e.type]),
    ),
    el('h2', {}, 'Checklist'),
    table(
      ['Done', 'Item'],
      i.checklist.map((c) => [c.done ? '✓' : '—', c.item]),
    ),
    el('h2', {}, 'Recent use (24 h)'),
    table(
      ['Address', 'User agent', 'Requests', 'Last seen'],
      i.recentUse.map((u) => [u.address, u.userAgent || '—', String(u.count), when(u.lastSeen)]),
      'No client used the key in the last 24 hours.',
    ),
  );
}
