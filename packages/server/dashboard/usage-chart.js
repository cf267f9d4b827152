// Usage charts: verifications over time by outcome (valid, or refused by code), and quota use against its limit.
import { api, query } from './api.js';
import { timeChart } from './charts.js';
import { el, problemBox, replace, when } from './dom.js';
import { GRANULARITY_MS, modelRemaining, quotaWindow } from './quota-model.js';

/** The windows offered: the last 24 buckets of a size, ending at the server's now (browsers' clocks may be off). */
const WINDOWS = [
  { label: 'last 24 minutes, by minute', granularity: 'minute' },
  { label: 'last 24 hours, by hour', granularity: 'hour' },
  { label: 'last 24 days, by day', granularity: 'day' },
];

/** Loads `/v1/analytics/usage` for `subject` (`{ keyId }`, `{ consumerId }` or `{}`) into a chart with one line per outcome. */
async function outcomeChart(title, subject, range) {
  const usage = await api('GET', `/v1/analytics/usage${query({ ...subject, granularity: range.granularity })}`);
  // VALID first, then every refusal code that occurs in the window.
  const codes = ['VALID', ...Object.keys(usage.codes).filter((c) => c !== 'VALID')];
  const chart = timeChart({
    title,
    series: codes.map((code, i) => ({ name: code === 'VALID' ? 'valid' : `refused: ${code}`, colour: i })),
  });
  chart.setData(
    usage.buckets.map((b) => Date.parse(b.start)),
    codes.map((code) => usage.buckets.map((b) => b.codes[code] ?? 0)),
  );
  return chart.node;
}

/**
 * A usage panel: a labelled choice of subject (`subjects`: `{ label, params }`, e.g. the consumer and each key)
 * and of window, and the chart of requests by outcome for that choice.
 */
export function usagePanel(subjects) {
  const subject = el(
    'select',
    { name: 'usageSubject' },
    subjects.map((s, i) => el('option', { value: String(i) }, s.label)),
  );
  const span = el(
    'select',
    { name: 'usageWindow' },
    WINDOWS.map((w, i) => el('option', { value: String(i), selected: i === 1 }, w.label)),
  );
  const body = el('div', { class: 'chart-slot' });
  const show = async () => {
    const s = subjects[Number(subject.value)];
    const w = WINDOWS[Number(span.value)];
    replace(body, el('span', { class: 'muted' }, 'Loading…'));
    try {
      replace(body, await outcomeChart(`Requests of ${s.label} by outcome, ${w.label}`, s.params, w));
    } catch (err) {
      replace(body, problemBox(err));
    }
  };
  subject.addEventListener('change', show);
  span.addEventListener('change', show);
  show();
  return el(
    'section',
    { class: 'card', 'aria-label': 'Usage' },
    el('h2', {}, 'Usage'),
    el('div', { class: 'filter' }, el('label', {}, 'Of ', subject), ' ', el('label', {}, 'Window ', span)),
    body,
  );
}

/** "+100 every day" for a quota's refill. */
function refillText(refill) {
  return `+${refill.amount} every ${refill.every}`;
}

/**
 * The credits left of one quota counter — `subject` (`{ label, params }`: `{ consumerId }` for a consumer's
 * counter, which all its keys draw on) under `quota` (`{ limit, period?, refill? }`) — over the current
 * period, or over the last refills of credits that only refill: modelled from the valid requests in each
 * bucket with the server's refill rules (see quota-model.js), with the limit as a line of its own.
 */
export async function quotaChart(title, subject, quota) {
  // By the server's clock: a default window ends with the minute under way, so its start is the last whole
  // minute the server has passed (refills at whole minutes, as daily and monthly ones are, are then exact).
  const now = Date.parse((await api('GET', '/v1/analytics/usage?granularity=minute')).to) - 60_000;
  const { granularity, from, fromFull } = quotaWindow(quota, now);
  const usage = await api(
    'GET',
    `/v1/analytics/usage${query({ ...subject.params, granularity, from: new Date(from).toISOString() })}`,
  );
  const buckets = usage.buckets.map((b) => ({ start: Date.parse(b.start), used: b.codes.VALID ?? 0 }));
  const times = buckets.map((b) => b.start);
  const left = modelRemaining(quota, buckets, { sizeMs: GRANULARITY_MS[granularity], now });
  const chart = timeChart({
    title,
    series: [
      { name: `credits left of ${subject.label}`, colour: 1, total: false },
      { name: `limit${quota.period ? ` per ${quota.period}` : ''}`, colour: 0, total: false },
    ],
  });
  chart.setData(times, [left, times.map(() => quota.limit)]);
  const requests = buckets.reduce((n, b) => n + b.used, 0);
  const remaining = left.at(-1) ?? quota.limit;
  const since = quota.period ? `this ${quota.period}` : `since ${when(new Date(from).toISOString())}`;
  const rules = [
    quota.refill ? `Refills ${refillText(quota.refill)}, never above ${quota.limit}` : null,
    quota.period ? `${quota.refill ? 'full' : 'Full'} again at the start of each ${quota.period} (UTC)` : null,
  ].filter(Boolean);
  return el(
    'div',
    {},
    chart.node,
    el(
      'p',
      { class: 'quota-use' },
      `${subject.label}: ${remaining} of ${quota.limit} credits left (${Math.round((remaining / quota.limit) * 100)}%); ` +
        `${requests} valid requests ${since}.`,
    ),
    el(
      'p',
      { class: 'muted' },
      `${rules.length ? `${rules.join('; ')}. ` : ''}Modelled from usage, one credit per valid request ` +
        '(usage records requests, not their cost)' +
        (fromFull
          ? `, from full at the start of the ${quota.period}.`
          : `, taking the balance as full on ${when(new Date(from).toISOString())} (exact once it has been full since).`) +
        ' Each verify answer shows what remains.',
    ),
  );
}
