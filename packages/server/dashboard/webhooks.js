// Webhooks: the subscriptions, and one webhook's deliveries with redelivery.
import { api, query } from './api.js';
import { act, badge, el, formCard, link, problemBox, replace, when } from './dom.js';
import { consumerLink } from './names.js';
import { pagedTable } from './paged.js';
import { secretPanel } from './secret.js';

/** The "create webhook" form: the signing secret is shown once in `panel`, then the list is shown anew. */
function createForm(panel, refresh) {
  const url = el('input', { name: 'webhookUrl', type: 'url', required: true, maxLength: 2048, size: 36 });
  const events = el('input', { name: 'events', required: true, value: '*', placeholder: 'key.* rotation.*' });
  return formCard(
    'New webhook',
    [
      ['URL', url],
      ['Events', events],
    ],
    'Create webhook',
    async () => {
      const created = await api('POST', '/v1/webhooks', {
        url: url.value.trim(),
        events: events.value.split(/[\s,]+/).filter(Boolean),
      });
      replace(
        panel,
        secretPanel(
          `Signing secret of ${created.url}`,
          created.secret,
          undefined,
          'Copy this signing secret now for the receiver to check signatures with. It is not shown again.',
        ),
      );
      refresh();
    },
  );
}

/** Renders the webhooks list, and the form that creates one, into `view`. */
export function webhooksView(view) {
  const panel = el('div');
  const list = el('div');
  const show = () => replace(list, webhooksTable());
  replace(view, el('h1', {}, 'Webhooks'), createForm(panel, show), panel, list);
  show();
}

/** Every webhook as a paged table. */
function webhooksTable() {
  return pagedTable(
    ['URL', 'Events', 'Consumer', 'State', 'Description', 'Created'],
    (cursor) => api('GET', `/v1/webhooks${query({ limit: 50, cursor })}`),
    (w) => [
      link(`/webhooks/${encodeURIComponent(w.id)}`, w.url),
      w.events.length ? w.events.join(' ') : 'all',
      w.consumerId ? consumerLink(w.consumerId) : 'all consumers',
      w.enabled ? badge('enabled', 'ok') : badge('disabled', 'retired'),
      w.description ?? '—',
      when(w.createdAt),
    ],
    'No webhooks yet.',
  );
}

/** The badge kind of a delivery status. */
function statusKind(status) {
  if (status === 'delivered') return 'ok';
  if (status === 'dead') return 'critical';
  return 'warning';
}

/** Renders webhook `id` with its deliveries, newest first, into `view`. */
export async function webhookView(view, id) {
  const path = `/v1/webhooks/${encodeURIComponent(id)}`;
  let hook;
  try {
    hook = await api('GET', path);
  } catch (err) {
    return replace(view, link('/webhooks', '← Webhooks'), problemBox(err));
  }
  const slot = el('div');
  const list = el('div');
  const show = () =>
    replace(
      list,
      pagedTable(
        ['Event', 'Status', 'Attempts', 'Response', 'Last error', 'Last attempt', 'Next attempt', ''],
        (cursor) => api('GET', `${path}/deliveries${query({ limit: 50, cursor })}`),
        (d) => [
          `${d.eventType} #${d.eventSeq}`,
          badge(d.status, statusKind(d.status)),
          String(d.attempts),
          d.responseStatus === null ? '—' : String(d.responseStatus),
          d.lastError ?? '—',
          when(d.lastAttemptAt),
          when(d.nextAttemptAt),
          el(
            'button',
            {
              type: 'button',
              'aria-label': `Redeliver ${d.eventType} #${d.eventSeq}`,
              onclick: (e) =>
                act(e.currentTarget, slot, async () => {
                  await api('POST', `${path}/deliveries/${encodeURIComponent(d.id)}/redeliver`);
                  show();
                }),
            },
            'Redeliver',
          ),
        ],
        'No deliveries yet.',
      ),
    );
  replace(
    view,
    link('/webhooks', '← Webhooks'),
    el('h1', {}, 'Webhook ', el('code', {}, hook.url)),
    el(
      'dl',
      { class: 'facts' },
      el('dt', {}, 'Events'),
      el('dd', {}, hook.events.length ? hook.events.join(' ') : 'all'),
      el('dt', {}, 'Consumer'),
      el('dd', {}, hook.consumerId ? consumerLink(hook.consumerId) : 'all consumers'),
      el('dt', {}, 'State'),
      el(
        'dd',
        {},
        hook.enabled ? 'enabled ' : 'disabled ',
        el(
          'button',
          {
            type: 'button',
            onclick: (e) =>
              act(e.currentTarget, slot, async () => {
                await api('PATCH', path, { enabled: !hook.enabled });
                await webhookView(view, id);
              }),
          },
          hook.enabled ? 'Disable' : 'Enable',
        ),
      ),
    ),
    el('h2', {}, 'Deliveries'),
    slot,
    list,
  );
  show();
}
