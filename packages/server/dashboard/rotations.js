// Rotations: progress of every rotation, the traffic of one, and its rollback/complete/extend.
import { api, query } from './api.js';
import { act, badge, confirmDialog, el, link, problemBox, replace, table, when } from './dom.js';
import { pagedTable } from './paged.js';

/** A progress bar of the share of traffic on the new key. */
function shareBar(share) {
  if (share === null || share === undefined) return el('span', { class: 'muted' }, 'no traffic yet');
  const pct = Math.round(share * 100);
  const fill = el('span', { class: 'bar-fill' });
  fill.style.width = `${pct}%`;
  return el(
    'span',
    { class: 'bar', title: `${pct}% on the new key` },
    fill,
    el('span', { class: 'bar-label' }, `${pct}% on new key`),
  );
}

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
          link(`/consumers/${encodeURIComponent(r.consumerId)}`, r.consumerId),
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

/** Renders rotation `id` with its traffic and actions into `view`. */
export async function rotationView(view, id) {
  const path = `/v1/rotations/${encodeURIComponent(id)}`;
  let r;
  try {
    r = await api('GET', path);
  } catch (err) {
    return replace(view, link('/rotations', '← Rotations'), problemBox(err));
  }
  const t = r.traffic;
  const slot = el('div');
  const rerender = () => rotationView(view, id);
  const post = (button, suffix, body) =>
    act(button, slot, async () => {
      await api('POST', `${path}/${suffix}`, body);
      await rerender();
    });
  const by = el('input', { name: 'extendBy', value: '24h', maxLength: 32, size: 6 });
  const actions =
    r.state === 'rolling'
      ? el(
          'div',
          { class: 'toolbar' },
          el(
            'button',
            {
              type: 'button',
              onclick: async (e) => {
                const b = e.target;
                if (await confirmDialog('Complete rotation', 'The old key is retired now.', 'Complete'))
                  post(b, 'complete');
              },
            },
            'Complete now',
          ),
          el(
            'button',
            {
              type: 'button',
              class: 'danger',
              onclick: async (e) => {
                const b = e.target;
                if (
                  await confirmDialog(
                    'Roll back',
                    'The new key is revoked and the old key stays in service.',
                    'Roll back',
                  )
                )
                  post(b, 'rollback');
              },
            },
            'Roll back',
          ),
          el(
            'span',
            { class: 'extend' },
            'Extend by ',
            by,
            el(
              'button',
              { type: 'button', onclick: (e) => post(e.target, 'extend', { by: by.value.trim() }) },
              'Extend',
            ),
          ),
        )
      : null;
  replace(
    view,
    link('/rotations', '← Rotations'),
    el('h1', {}, 'Rotation ', el('code', {}, r.id), ' ', badge(r.state)),
    el(
      'dl',
      { class: 'facts' },
      el('dt', {}, 'Consumer'),
      el('dd', {}, link(`/consumers/${encodeURIComponent(r.consumerId)}`, r.consumerId)),
      el('dt', {}, 'Old key → new key'),
      el('dd', {}, el('code', {}, r.oldKeyId), ' → ', el('code', {}, r.newKeyId ?? '—')),
      el('dt', {}, 'Grace period'),
      el('dd', {}, `${r.gracePeriod} (${r.retire.mode})`),
      el('dt', {}, 'Started / retires'),
      el('dd', {}, `${when(r.startedAt)} / ${when(r.retiresAt)}`),
      el('dt', {}, 'Share on new key'),
      el(
        'dd',
        { 'data-testid': 'share' },
        shareBar(t.shareOnNew),
        ` ${t.newKeyRequests} new / ${t.oldKeyRequests} old requests`,
      ),
      el('dt', {}, 'Old key last seen'),
      el('dd', {}, when(t.oldKeyLastSeenAt)),
      r.endedAt ? [el('dt', {}, 'Ended'), el('dd', {}, `${when(r.endedAt)} (${r.endReason ?? ''})`)] : null,
      r.reason ? [el('dt', {}, 'Reason'), el('dd', {}, r.reason)] : null,
    ),
    actions,
    slot,
    el('h2', {}, 'Clients still on the old key'),
    table(
      ['Address', 'User agent', 'Requests', 'First seen', 'Last seen'],
      t.oldKeyClients.map((c) => [
        c.address,
        c.userAgent || '—',
        String(c.requests),
        when(c.firstSeenAt),
        when(c.lastSeenAt),
      ]),
      'No client has used the old key in this window.',
    ),
    r.extensions.length
      ? [
          el('h2', {}, 'Extensions'),
          table(
            ['At', 'By', 'From', 'To', 'Actor'],
            r.extensions.map((x) => [when(x.at), x.by, when(x.from), when(x.to), x.actor]),
          ),
        ]
      : null,
  );
}
