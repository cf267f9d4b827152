// One rotation, live: share on the new key, traffic over time against the deadline, clients still on the old key,
// and extend / complete / roll back. Polled while the rotation rolls and the view is open.
import { api } from './api.js';
import { timeChart } from './charts.js';
import { act, badge, confirmDialog, el, link, problemBox, replace, table, when } from './dom.js';
import { poll } from './lifecycle.js';
import { consumerLink, keyText } from './names.js';
import { shareBar } from './share-bar.js';

/** How often a rolling rotation is read again. */
const POLL_MS = 5000;

/** "in 3 h 20 min" / "2 d 4 h ago": the time from now to `iso`. */
function fromNow(iso) {
  if (!iso) return '';
  const ms = Date.parse(iso) - Date.now();
  const min = Math.round(Math.abs(ms) / 60_000);
  const h = Math.floor(min / 60);
  let text = `${min} min`;
  if (h >= 48) text = `${Math.floor(h / 24)} d ${h % 24} h`;
  else if (h >= 1) text = `${h} h ${min % 60} min`;
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}

/** A button that asks for confirmation first, then runs `run(button)`. */
function confirmed(label, title, message, run, kind) {
  return el(
    'button',
    {
      type: 'button',
      class: kind,
      onclick: async (e) => {
        const button = e.currentTarget;
        if (await confirmDialog(title, message, label, kind === 'danger')) run(button);
      },
    },
    label,
  );
}

/** The facts of rotation `r`: who, which keys, the deadline and the share on the new key. */
function facts(r) {
  const t = r.traffic;
  return [
    el('dt', {}, 'Consumer'),
    el('dd', {}, consumerLink(r.consumerId)),
    el('dt', {}, 'Old key → new key'),
    el('dd', {}, keyText(r.oldKeyId), ' → ', keyText(r.newKeyId)),
    el('dt', {}, 'Grace period'),
    el('dd', {}, `${r.gracePeriod} (${r.retire.mode})`),
    el('dt', {}, 'Started'),
    el('dd', {}, when(r.startedAt)),
    el('dt', {}, 'Deadline'),
    el(
      'dd',
      { 'data-testid': 'deadline' },
      `${when(r.retiresAt)} ${r.state === 'rolling' ? fromNow(r.retiresAt) : ''}`,
    ),
    el('dt', {}, 'Share on new key'),
    el(
      'dd',
      { 'data-testid': 'share' },
      shareBar(t.shareOnNew),
      ` ${t.newKeyRequests} new / ${t.oldKeyRequests} old requests`,
    ),
    el('dt', {}, 'Old key last seen'),
    el('dd', {}, `${when(t.oldKeyLastSeenAt)} ${fromNow(t.oldKeyLastSeenAt)}`),
    r.endedAt ? [el('dt', {}, 'Ended'), el('dd', {}, `${when(r.endedAt)} (${r.endReason ?? ''})`)] : null,
    r.reason ? [el('dt', {}, 'Reason'), el('dd', {}, r.reason)] : null,
  ];
}

/** The clients that used the old key in the traffic window. */
function clientsTable(t) {
  return table(
    ['Address', 'User agent', 'Requests', 'First seen', 'Last seen'],
    t.oldKeyClients.map((c) => [
      c.address,
      c.userAgent || '—',
      String(c.requests),
      when(c.firstSeenAt),
      `${when(c.lastSeenAt)} ${fromNow(c.lastSeenAt)}`,
    ]),
    'No client has used the old key in this window.',
  );
}

/** Renders rotation `id` into `view` and keeps it current while it rolls. */
export async function rotationView(view, id) {
  const path = `/v1/rotations/${encodeURIComponent(id)}`;
  let r;
  try {
    r = await api('GET', path);
  } catch (err) {
    return replace(view, link('/rotations', '← Rotations'), problemBox(err));
  }
  const state = el('span');
  const factList = el('dl', { class: 'facts' });
  const clients = el('div');
  const extensions = el('div');
  const slot = el('div');
  const updated = el('p', { class: 'muted', 'data-testid': 'updated' });
  const chart = timeChart({
    title: 'Requests on the old and the new key, with the deadline',
    series: [
      { name: 'old key', colour: 3 },
      { name: 'new key', colour: 0 },
    ],
  });
  const paint = () => {
    const t = r.traffic;
    replace(state, badge(r.state));
    replace(factList, facts(r));
    chart.setData(
      t.buckets.map((b) => Date.parse(b.start)),
      [t.buckets.map((b) => b.oldKey), t.buckets.map((b) => b.newKey)],
      r.retiresAt ? [{ at: Date.parse(r.retiresAt), label: 'Deadline (dashed line)' }] : [],
    );
    replace(clients, clientsTable(t));
    replace(
      extensions,
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
    actions.hidden = r.state !== 'rolling';
    replace(updated, r.state === 'rolling' ? `Live: updated ${when(new Date().toISOString())}` : '');
  };
  const refresh = async () => {
    r = await api('GET', path);
    paint();
  };
  const post = (button, suffix, body) =>
    act(button, slot, async () => {
      await api('POST', `${path}/${suffix}`, body);
      await refresh();
    });
  const by = el('input', { name: 'extendBy', value: '24h', maxLength: 32, size: 6 });
  const actions = el(
    'div',
    { class: 'toolbar' },
    confirmed(
      'Complete now',
      'Complete rotation',
      'The old key is retired now.',
      (b) => post(b, 'complete'),
      'primary',
    ),
    confirmed(
      'Roll back',
      'Roll back',
      'The new key is revoked and the old key stays in service.',
      (b) => post(b, 'rollback'),
      'danger',
    ),
    el(
      'span',
      { class: 'extend' },
      el('label', {}, 'Extend by ', by),
      el(
        'button',
        { type: 'button', onclick: (e) => post(e.currentTarget, 'extend', { by: by.value.trim() }) },
        'Extend',
      ),
    ),
  );
  paint();
  replace(
    view,
    link('/rotations', '← Rotations'),
    el('h1', {}, 'Rotation ', el('code', {}, r.id), ' ', state),
    factList,
    actions,
    slot,
    updated,
    chart.node,
    el('h2', {}, 'Clients still on the old key'),
    clients,
    extensions,
  );
  poll(POLL_MS, async () => {
    if (r.state !== 'rolling') return false;
    try {
      await refresh();
    } catch (err) {
      replace(slot, problemBox(err));
    }
    return r.state === 'rolling';
  });
}
