// One consumer: its keys, issuing, rotating and revoking them.
import { api, query } from './api.js';
import { consumerUsage } from './consumer-usage.js';
import { act, badge, confirmDialog, el, formCard, link, problemBox, replace, when } from './dom.js';
import { planLink } from './names.js';
import { pagedTable } from './paged.js';
import { secretPanel } from './secret.js';

const LIVE = new Set(['active', 'deprecated']);

/** True when a grace period means "now" (an emergency rotation). */
function isZero(grace) {
  return /^0+(\.0+)?\s*[smhd]?$/.test(grace.trim());
}

/** Splits "a, b c" into scopes. */
function scopesOf(text) {
  return text.split(/[\s,]+/).filter(Boolean);
}

/** Renders the consumer `id` into `view`. */
export async function consumerView(view, id) {
  const path = `/v1/consumers/${encodeURIComponent(id)}`;
  let consumer;
  try {
    consumer = await api('GET', path);
  } catch (err) {
    return replace(view, link('/consumers', '← Consumers'), problemBox(err));
  }
  const panel = el('div', { class: 'panel-slot' });
  const keys = el('div');
  const showKeys = () =>
    replace(
      keys,
      pagedTable(
        ['Name', 'Hint', 'Status', 'Version', 'Scopes', 'Expires / retires', 'Last used', ''],
        (cursor) => api('GET', `/v1/keys${query({ consumerId: id, limit: 50, cursor })}`),
        (k) => [
          k.name || '—',
          el('code', {}, k.hint),
          badge(k.status),
          `v${k.version}`,
          k.scopes.length ? k.scopes.join(' ') : '—',
          when(k.expiresAt ?? k.retiresAt),
          when(k.lastUsedAt),
          LIVE.has(k.status)
            ? el(
                'span',
                { class: 'row-actions' },
                el(
                  'button',
                  { type: 'button', onclick: () => replace(panel, rotateForm(k, panel, showKeys)) },
                  'Rotate',
                ),
                el(
                  'button',
                  { type: 'button', class: 'danger', onclick: (e) => revoke(k, e.target, panel, showKeys) },
                  'Revoke',
                ),
              )
            : '',
        ],
        'This consumer has no keys yet.',
      ),
    );
  replace(
    view,
    link('/consumers', '← Consumers'),
    el('h1', {}, consumer.name),
    el(
      'dl',
      { class: 'facts' },
      el('dt', {}, 'Id'),
      el('dd', {}, el('code', {}, consumer.id)),
      el('dt', {}, 'External id'),
      el('dd', {}, consumer.externalId ?? '—'),
      el('dt', {}, 'Plan'),
      el('dd', {}, planLink(consumer.planId)),
      el('dt', {}, 'Created'),
      el('dd', {}, when(consumer.createdAt)),
    ),
    el(
      'div',
      { class: 'toolbar' },
      el(
        'button',
        { type: 'button', class: 'primary', onclick: () => replace(panel, issueForm(id, panel, showKeys)) },
        'Issue a key',
      ),
    ),
    panel,
    el('h2', {}, 'Keys'),
    keys,
    consumerUsage(consumer),
  );
  showKeys();
}

/** The "issue a key" form. */
function issueForm(consumerId, panel, refresh) {
  const name = el('input', { name: 'keyName', maxLength: 200, placeholder: 'production' });
  const scopes = el('input', { name: 'scopes', placeholder: 'orders:read orders:write' });
  const expiresIn = el('input', { name: 'expiresIn', placeholder: 'e.g. 90d (optional)', maxLength: 32 });
  return formCard(
    'Issue a key',
    [
      ['Name', name],
      ['Scopes', scopes],
      ['Expires in', expiresIn],
    ],
    'Issue key',
    async () => {
      const body = { consumerId, scopes: scopesOf(scopes.value) };
      if (name.value.trim()) body.name = name.value.trim();
      if (expiresIn.value.trim()) body.expiresIn = expiresIn.value.trim();
      const created = await api('POST', '/v1/keys', body);
      replace(panel, secretPanel(`New key ${created.hint}`, created.key));
      refresh();
    },
    { heading: 'h3', onCancel: () => replace(panel) },
  );
}

/** The "rotate" form of key `k`: a grace period, 0 meaning an emergency rotation. */
function rotateForm(k, panel, refresh) {
  const grace = el('input', { name: 'gracePeriod', value: '24h', maxLength: 32, required: true });
  const reason = el('input', { name: 'reason', maxLength: 200, placeholder: 'optional' });
  return formCard(
    `Rotate key ${k.hint}`,
    [
      ['Grace period', grace],
      ['Reason', reason],
    ],
    'Rotate',
    async () => {
      const emergency = isZero(grace.value);
      if (
        emergency &&
        !(await confirmDialog(
          'Emergency rotation',
          `The old key ${k.hint} stops working immediately. Clients still using it will fail.`,
          'Rotate now',
        ))
      )
        return;
      const body = { gracePeriod: emergency ? 0 : grace.value.trim() };
      if (reason.value.trim()) body.reason = reason.value.trim();
      const res = await api('POST', `/v1/keys/${encodeURIComponent(k.id)}/rotate`, body);
      replace(
        panel,
        secretPanel(`New key for ${k.hint}`, res.key),
        el('p', {}, link(`/rotations/${encodeURIComponent(res.rotation.id)}`, 'Follow the rotation →')),
      );
      refresh();
    },
    {
      heading: 'h3',
      note: 'Both keys work during the grace period; 0 retires the old key immediately (emergency).',
      onCancel: () => replace(panel),
    },
  );
}

/** Revokes key `k` after confirmation. */
async function revoke(k, button, panel, refresh) {
  if (!(await confirmDialog('Revoke key', `Key ${k.hint} stops working now, for good.`, 'Revoke'))) return;
  await act(button, panel, async () => {
    await api('POST', `/v1/keys/${encodeURIComponent(k.id)}/revoke`, { reason: 'revoked from the dashboard' });
    refresh();
  });
}
