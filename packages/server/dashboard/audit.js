// Audit: the hash-chain check (on request: it re-hashes events) and the events, newest first, filtered.
import { api, query } from './api.js';
import { badge, el, problemBox, replace, when } from './dom.js';
import { actorText, targetText } from './names.js';
import { pagedTable } from './paged.js';

/** Runs GET /v1/audit/verify (from the last checkpoint, or every event with `full`) and shows the result in `slot`. */
export async function chainCheck(slot, full = false) {
  replace(slot, el('span', { class: 'muted' }, full ? 'Re-hashing every event…' : 'Checking new events…'));
  try {
    const v = await api('GET', `/v1/audit/verify${full ? '?full=true' : ''}`);
    const scope = v.full ? `all ${v.checked} re-hashed` : `${v.checked} new since #${v.from}`;
    replace(
      slot,
      v.ok
        ? el(
            'p',
            { class: 'chain-ok', 'data-testid': 'chain' },
            badge('chain ok', 'ok'),
            ` ${v.events} events (${scope}), head ${v.head.slice(0, 16)}…`,
          )
        : el(
            'p',
            { class: 'problem', 'data-testid': 'chain' },
            badge('chain broken', 'broken'),
            ` ${v.reason ?? v.brokenAt?.reason}${v.brokenAt ? ` at #${v.brokenAt.seq}` : ''}: ${v.detail ?? ''}`,
          ),
    );
  } catch (err) {
    replace(slot, problemBox(err));
  }
}

/** Two buttons that check the chain into `slot`: the cheap check from the last checkpoint, and the full one. */
export function chainButtons(slot) {
  return el(
    'p',
    { class: 'actions' },
    el('button', { type: 'button', onclick: () => chainCheck(slot) }, 'Check chain'),
    ' ',
    el('button', { type: 'button', onclick: () => chainCheck(slot, true) }, 'Full check'),
  );
}

/** Renders the audit log into `view`. */
export function auditView(view) {
  // Not checked on load: a check re-hashes events, so it runs when asked for.
  const chain = el('div', {}, el('span', { class: 'muted' }, 'The chain has not been checked on this page.'));
  const action = el('input', { name: 'action', placeholder: 'e.g. key.revoked', maxLength: 64 });
  const target = el('input', { name: 'targetId', placeholder: 'target id', maxLength: 64 });
  const actor = el('input', { name: 'actor', placeholder: 'e.g. root:…', maxLength: 200 });
  const from = el('input', { name: 'from', type: 'datetime-local', step: 1 });
  const to = el('input', { name: 'to', type: 'datetime-local', step: 1 });
  /** A datetime-local value (the browser's time zone) as ISO 8601 UTC, or undefined. */
  const instant = (input) => (input.value ? new Date(input.value).toISOString() : undefined);
  const list = el('div');
  const show = () =>
    replace(
      list,
      pagedTable(
        ['#', 'At', 'Actor', 'Action', 'Target', 'Data'],
        (cursor) =>
          api(
            'GET',
            `/v1/audit${query({
              order: 'desc',
              action: action.value.trim(),
              targetId: target.value.trim(),
              actor: actor.value.trim(),
              from: instant(from),
              to: instant(to),
              limit: 50,
              cursor,
            })}`,
          ),
        (e) => [
          String(e.seq),
          when(e.at),
          actorText(e.actor),
          el('code', {}, e.action),
          targetText(e.targetType, e.targetId),
          el('code', { class: 'data' }, JSON.stringify(e.data)),
        ],
        'No audit events match.',
      ),
    );
  const form = el(
    'form',
    { class: 'filter', 'aria-label': 'Filter the audit log' },
    el('label', {}, 'Action ', action),
    el('label', {}, 'Target ', target),
    el('label', {}, 'Actor ', actor),
    el('label', {}, 'From ', from),
    el('label', {}, 'To ', to),
    el('button', { type: 'submit' }, 'Apply'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    show();
  });
  replace(
    view,
    el('h1', {}, 'Audit log'),
    el('p', { class: 'muted' }, 'Newest first.'),
    chainButtons(chain),
    chain,
    form,
    list,
  );
  show();
}
