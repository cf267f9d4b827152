// Consumers: the list and the create form.
import { api, query } from './api.js';
import { badge, el, formCard, link, replace, when } from './dom.js';
import { consumerLink, planLink } from './names.js';
import { pagedTable } from './paged.js';

/** The "create consumer" form; opens the new consumer on success. */
function createForm() {
  const name = el('input', { name: 'name', required: true, maxLength: 200, placeholder: 'acme-billing' });
  const externalId = el('input', { name: 'externalId', maxLength: 200, placeholder: 'optional' });
  return formCard(
    'New consumer',
    [
      ['Name', name],
      ['External id', externalId],
    ],
    'Create consumer',
    async () => {
      const body = { name: name.value.trim() };
      if (externalId.value.trim()) body.externalId = externalId.value.trim();
      const consumer = await api('POST', '/v1/consumers', body);
      location.hash = `#/consumers/${encodeURIComponent(consumer.id)}`;
    },
  );
}

/** The consumers (matching `q`, when given) as a paged table. */
function consumersTable(q) {
  return pagedTable(
    ['Name', 'Id', 'External id', 'Plan', 'Created'],
    (cursor) => api('GET', `/v1/consumers${query({ q, limit: 50, cursor })}`),
    (c) => [
      link(`/consumers/${encodeURIComponent(c.id)}`, c.name),
      el('code', {}, c.id),
      c.externalId ?? '—',
      planLink(c.planId),
      when(c.createdAt),
    ],
    q ? 'No consumer matches.' : 'No consumers yet: create the first one above.',
  );
}

/** The keys matching `q` (name, hint or its last characters, id) as a paged table. */
function keysTable(q) {
  return pagedTable(
    ['Key', 'Hint', 'Consumer', 'Status', 'Last used'],
    (cursor) => api('GET', `/v1/keys${query({ q, limit: 50, cursor })}`),
    (k) => [
      k.name || 'unnamed',
      el('code', {}, k.hint),
      consumerLink(k.consumerId),
      badge(k.status),
      when(k.lastUsedAt),
    ],
    'No key matches.',
  );
}

/** Renders the consumers list, with a search of consumers and keys, into `view`. */
export function consumersView(view) {
  const q = el('input', {
    name: 'q',
    type: 'search',
    maxLength: 200,
    placeholder: 'name, external id, key hint or id',
  });
  const results = el('div');
  const show = () => {
    const text = q.value.trim();
    replace(
      results,
      text ? el('h2', {}, 'Consumers matching') : null,
      consumersTable(text),
      text ? [el('h2', {}, 'Keys matching'), keysTable(text)] : null,
    );
  };
  const search = el(
    'form',
    { class: 'filter', role: 'search' },
    el('label', {}, 'Search consumers and keys ', q),
    ' ',
    el('button', { type: 'submit' }, 'Search'),
  );
  search.addEventListener('submit', (event) => {
    event.preventDefault();
    show();
  });
  replace(view, el('h1', {}, 'Consumers'), createForm(), search, results);
  show();
}
