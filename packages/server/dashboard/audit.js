// Audit: the hash-chain check and the events, oldest first.
import { api, query } from './api.js';
import { badge, el, problemBox, replace, when } from './dom.js';
import { pagedTable } from './paged.js';

/** The result of GET /v1/audit/verify. */
async function chainCheck(slot) {
  try {
    const v = await api('GET', '/v1/audit/verify');
    replace(
      slot,
      v.ok
        ? el(
            'p',
            { class: 'chain-ok', 'data-testid': 'chain' },
            badge('chain ok', 'ok'),
            ` ${v.events} events, head ${v.head.slice(0, 16)}…`,
          )
        : el(
            'p',
            { class: 'problem', 'data-testid': 'chain' },
            badge('chain broken', 'broken'),
            ` at #${v.brokenAt?.seq}: ${v.brokenAt?.reason}`,
          ),
    );
  } catch (err) {
    replace(slot, problemBox(err));
  }
}

/** Renders the audit log into `view`. */
export function auditView(view) {
  const chain = el('div', {}, el('span', { class: 'muted' }, 'Checking the chain…'));
  const action = el('input', { name: 'action', placeholder: 'e.g. key.revoked', maxLength: 64 });
  const target = el('input', { name: 'targetId', placeholder: 'target id', maxLength: 64 });
  const list = el('div');
  const show = () =>
    replace(
      list,
      pagedTable(
        ['#', 'At', 'Actor', 'Action', 'Target', 'Data'],
        (cursor) =>
          api(
            'GET',
            `/v1/audit${query({ action: action.value.trim(), targetId: target.value.trim(), limit: 50, cursor })}`,
          ),
        (e) => [
          String(e.seq),
          when(e.at),
          e.actor,
          el('code', {}, e.action),
          `${e.targetType} ${e.targetId}`,
          el('code', { class: 'data' }, JSON.stringify(e.data)),
        ],
        'No audit events match.',
      ),
    );
  const form = el(
    'form',
    { class: 'filter' },
    'Filter ',
    action,
    ' ',
    target,
    ' ',
    el('button', { type: 'submit' }, 'Apply'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    show();
  });
  replace(view, el('h1', {}, 'Audit log'), chain, form, list);
  chainCheck(chain);
  show();
}
