// A consumer's usage: requests by outcome for the consumer or one of its keys, and its quota's credits left.
import { api, query } from './api.js';
import { el, problemBox, replace } from './dom.js';
import { keyLabel } from './names.js';
import { quotaChart, usagePanel } from './usage-chart.js';

/** The usage section of `consumer`: filled once its keys (and plan, if any) are read. */
export function consumerUsage(consumer) {
  const box = el('div', {}, el('span', { class: 'muted' }, 'Loading usage…'));
  (async () => {
    const keys = (await api('GET', `/v1/keys${query({ consumerId: consumer.id, limit: 50 })}`)).data;
    const plan = consumer.planId ? await api('GET', `/v1/plans/${encodeURIComponent(consumer.planId)}`) : null;
    // The consumer's own quota, else its plan's: one counter that all its keys draw on together.
    const quota = consumer.quota ?? plan?.quota;
    const label = `${consumer.name} (all keys)`;
    replace(
      box,
      usagePanel([
        { label, params: { consumerId: consumer.id } },
        ...keys.map((k) => ({ label: `key ${keyLabel(k)}`, params: { keyId: k.id } })),
      ]),
      quota
        ? el(
            'section',
            { class: 'card' },
            el('h2', {}, consumer.quota ? 'Quota use (own quota)' : `Quota use (plan ${plan.name})`),
            await quotaChart(
              `Credits left of the quota of ${label}`,
              { label, params: { consumerId: consumer.id } },
              quota,
            ),
          )
        : null,
    );
  })().catch((err) => replace(box, problemBox(err)));
  return box;
}
