// Webhooks: the subscriptions, and one webhook's deliveries with redelivery.
import { api, query } from './api.js';
import { act, badge, el, link, problemBox, replace, when } from './dom.js';
import { consumerLink } from './names.js';
import { pagedTable } from './paged.js';

/** Renders the webhooks list into `view`. */
export function webhooksView(view) {
  replace(
    view,
    el('h1', {}, 'Webhooks'),
    pagedTable(
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
      'No webhooks. Create one with POST /v1/webhooks or `keyroll webhooks create`.',
    ),
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
      el('dd', {}, hook.enabled ? 'enabled' : 'disabled'),
    ),
    el('h2', {}, 'Deliveries'),
    slot,
    list,
  );
  show();
}
