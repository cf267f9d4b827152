// Plans: the list, creating one, and each plan's quota use by a consumer on it.
import { api, query } from './api.js';
import { el, formCard, link, problemBox, replace, table, when } from './dom.js';
import { pagedTable } from './paged.js';
import { quotaChart } from './usage-chart.js';

/** "100 / 1m", "1000 / month, +100 every day" (a quota that refills) or a dash. */
function limitText(limit) {
  if (!limit) return '—';
  const per = limit.window ?? limit.period;
  const refill = limit.refill ? `+${limit.refill.amount} every ${limit.refill.every}` : '';
  return [per ? `${limit.limit} / ${per}` : `${limit.limit}`, refill].filter(Boolean).join(', ');
}

/** The "create plan" form; shows the new plan on success. */
function createForm() {
  const name = el('input', { name: 'planName', required: true, maxLength: 200, placeholder: 'pro' });
  const rate = el('input', { name: 'rateLimit', type: 'number', min: 1, placeholder: 'requests' });
  const win = el('input', { name: 'rateWindow', maxLength: 16, size: 5, value: '1m' });
  const quota = el('input', { name: 'quotaLimit', type: 'number', min: 1, placeholder: 'requests' });
  const period = el(
    'select',
    { name: 'quotaPeriod' },
    el('option', { value: 'day' }, 'day'),
    el('option', { value: 'month' }, 'month'),
  );
  return formCard(
    'New plan',
    [
      ['Name', name],
      ['Rate limit', rate],
      ['per', win],
      ['Quota', quota],
      ['per', period],
    ],
    'Create plan',
    async () => {
      const body = { name: name.value.trim() };
      if (rate.value) body.rateLimit = { limit: Number(rate.value), window: win.value.trim() };
      if (quota.value) body.quota = { limit: Number(quota.value), period: period.value };
      const plan = await api('POST', '/v1/plans', body);
      location.hash = `#/plans/${encodeURIComponent(plan.id)}`;
    },
  );
}

/** Renders the plans list into `view`. */
export function plansView(view) {
  replace(
    view,
    el('h1', {}, 'Plans'),
    createForm(),
    pagedTable(
      ['Name', 'Rate limit', 'Quota', 'Updated'],
      (cursor) => api('GET', `/v1/plans${query({ limit: 50, cursor })}`),
      (p) => [
        link(`/plans/${encodeURIComponent(p.id)}`, p.name),
        limitText(p.rateLimit),
        limitText(p.quota),
        when(p.updatedAt),
      ],
      'No plans yet.',
    ),
  );
}

/** The quota use under `plan` of one consumer on it (all its keys together), chosen in a labelled search box. */
function quotaUse(plan) {
  const q = el('input', { name: 'quotaConsumer', type: 'search', maxLength: 200, placeholder: 'consumer name' });
  const body = el('div', { class: 'chart-slot' });
  const form = el(
    'form',
    { class: 'filter' },
    el('label', {}, 'Consumer on this plan ', q),
    ' ',
    el('button', { type: 'submit' }, 'Show quota use'),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    replace(body, el('span', { class: 'muted' }, 'Loading…'));
    try {
      const found = await api('GET', `/v1/consumers${query({ q: q.value.trim(), limit: 1 })}`);
      const consumer = found.data[0];
      if (!consumer) return replace(body, el('p', { class: 'muted' }, 'No consumer matches.'));
      if (consumer.planId !== plan.id)
        return replace(body, el('p', { class: 'muted' }, `${consumer.name} is not on this plan.`));
      if (consumer.quota)
        return replace(body, el('p', { class: 'muted' }, `${consumer.name} has its own quota, not this plan's.`));
      const label = `${consumer.name} (all keys)`;
      replace(
        body,
        await quotaChart(
          `Credits left of the quota of ${label}`,
          { label, params: { consumerId: consumer.id } },
          plan.quota,
        ),
      );
    } catch (err) {
      replace(body, problemBox(err));
    }
  });
  return el('section', { class: 'card' }, el('h2', {}, 'Quota use'), form, body);
}

/** Renders plan `id` into `view`. */
export async function planView(view, id) {
  let plan;
  try {
    plan = await api('GET', `/v1/plans/${encodeURIComponent(id)}`);
  } catch (err) {
    return replace(view, link('/plans', '← Plans'), problemBox(err));
  }
  replace(
    view,
    link('/plans', '← Plans'),
    el('h1', {}, plan.name),
    table(
      ['Id', 'Rate limit', 'Quota', 'Created'],
      [[el('code', {}, plan.id), limitText(plan.rateLimit), limitText(plan.quota), when(plan.createdAt)]],
    ),
    plan.quota ? quotaUse(plan) : el('p', { class: 'muted' }, 'This plan has no quota.'),
  );
}
