// The share of a rotation's traffic on the new key, as a bar with its percentage as text.
import { el } from './dom.js';

/** A progress bar of the share of traffic on the new key (0…1, or null before any traffic). */
export function shareBar(share) {
  if (share === null || share === undefined) return el('span', { class: 'muted' }, 'no traffic yet');
  const pct = Math.round(share * 100);
  const fill = el('span', { class: 'bar-fill' });
  fill.style.width = `${pct}%`;
  return el(
    'span',
    { class: 'bar', title: `${pct}% on the new key` },
    fill,
    el('span', { class: 'bar-label' }, `${pct}% on new key`),
  );
}
