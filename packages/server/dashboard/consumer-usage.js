// A consumer's usage: requests by outcome for the consumer or one of its keys, and its plan's quota use.
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
    const live = keys.filter((k) => k.status === 'active' || k.status === 'deprecated');
    replace(
      box,
      usagePanel([
        { label: `${consumer.name} (all keys)`, params: { consumerId: consumer.id } },
        ...keys.map((k) => ({ label: `key ${keyLabel(k)}`, params: { keyId: k.id } })),
      ]),
      plan?.quota && live.length
        ? el(
            'section',
            { class: 'card' },
            el('h2', {}, `Quota use (plan ${plan.name})`),
            await quotaChart(`Valid requests this ${plan.quota.period} against the quota, per key`, live, plan.quota),
          )
        : null,
    );
  })().catch((err) => replace(box, problemBox(err)));
  return box;
}
