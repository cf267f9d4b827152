// Alerts: the list, open ones first, and acknowledging them.
import { api, query } from './api.js';
import { act, badge, el, replace, when } from './dom.js';
import { consumerLink } from './names.js';
import { pagedTable } from './paged.js';

/** Renders the alerts list into `view`. */
export function alertsView(view) {
  const filter = el(
    'select',
    { name: 'acknowledged' },
    el('option', { value: 'false' }, 'open'),
    el('option', { value: '' }, 'all'),
  );
  const list = el('div');
  const slot = el('div');
  const show = () =>
    replace(
      list,
      pagedTable(
        ['Severity', 'Rule', 'Subject', 'Message', 'Consumer', 'Raised', 'Acknowledged'],
        (cursor) => api('GET', `/v1/alerts${query({ acknowledged: filter.value, limit: 50, cursor })}`),
        (a) => [
          badge(a.severity),
          a.rule,
          a.subject,
          a.message,
          consumerLink(a.consumerId),
          when(a.raisedAt),
          a.acknowledgedAt
            ? `${when(a.acknowledgedAt)} by ${a.acknowledgedBy ?? '?'}`
            : el(
                'button',
                {
                  type: 'button',
                  onclick: (e) =>
                    act(e.target, slot, async () => {
                      await api('POST', `/v1/alerts/${encodeURIComponent(a.id)}/acknowledge`);
                      show();
                    }),
                },
                'Acknowledge',
              ),
        ],
        'No alerts. All quiet.',
      ),
    );
  filter.addEventListener('change', show);
  replace(view, el('h1', {}, 'Alerts'), el('label', { class: 'filter' }, 'Show ', filter), slot, list);
  show();
}
