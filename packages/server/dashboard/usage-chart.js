// Usage charts: verifications over time by outcome (valid, or refused by code), and quota use against its limit.
import { api, query } from './api.js';
import { timeChart } from './charts.js';
import { el, problemBox, replace } from './dom.js';
import { keyLabel } from './names.js';

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

/** The start of the current quota period (`day` or `month`, UTC) at `now` (ms). */
function periodStart(period, now) {
  const d = new Date(now);
  return period === 'month'
    ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)
    : Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
}

/**
 * Quota use of `keys` (each counted on its own, as quotas are per key) under `quota` (`{ limit, period }`):
 * valid requests added up since the period began, with the limit as a line of its own.
 */
export async function quotaChart(title, keys, quota) {
  // Credits that only refill have no period to add requests up over: say how they refill instead.
  if (!quota.period)
    return el(
      'p',
      { class: 'muted' },
      `Credits: up to ${quota.limit} per key, topped up by ${quota.refill?.amount} every ${quota.refill?.every}; ` +
        'each verify answer shows what remains.',
    );
  const granularity = quota.period === 'month' ? 'day' : 'hour';
  // The period starts by the server's clock: its now is the end of a default window.
  const now = Date.parse((await api('GET', '/v1/analytics/usage?granularity=minute')).to);
  const from = new Date(periodStart(quota.period, now)).toISOString();
  const series = await Promise.all(
    keys.map((k) => api('GET', `/v1/analytics/usage${query({ keyId: k.id, granularity, from })}`)),
  );
  const times = (series[0]?.buckets ?? []).map((b) => Date.parse(b.start));
  const used = series.map((u) => {
    let sum = 0;
    return u.buckets.map((b) => {
      sum += b.codes.VALID ?? 0;
      return sum;
    });
  });
  const chart = timeChart({
    title,
    series: [
      ...keys.map((k, i) => ({ name: `used by ${keyLabel(k)}`, colour: i + 1, total: false })),
      { name: `limit per ${quota.period}`, colour: 0, total: false },
    ],
  });
  chart.setData(times, [...used, times.map(() => quota.limit)]);
  const table = el(
    'ul',
    { class: 'quota-use' },
    keys.map((k, i) => {
      const n = used[i].at(-1) ?? 0;
      return el(
        'li',
        {},
        `${keyLabel(k)}: ${n} of ${quota.limit} (${Math.round((n / quota.limit) * 100)}%) this ${quota.period}`,
      );
    }),
  );
  return el('div', {}, chart.node, table);
}
