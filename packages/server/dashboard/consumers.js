// Consumers: the list and the create form.
import { api, query } from './api.js';
import { act, el, link, replace, when } from './dom.js';
import { pagedTable } from './paged.js';

/** The "create consumer" form; opens the new consumer on success. */
function createForm() {
  const name = el('input', { name: 'name', required: true, maxLength: 200, placeholder: 'acme-billing' });
  const externalId = el('input', { name: 'externalId', maxLength: 200, placeholder: 'optional' });
  const slot = el('div');
  const submit = el('button', { type: 'submit', class: 'primary' }, 'Create consumer');
  const form = el(
    'form',
    { class: 'card inline-form' },
    el('h2', {}, 'New consumer'),
    el('label', {}, 'Name ', name),
    el('label', {}, 'External id ', externalId),
    submit,
    slot,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    act(submit, slot, async () => {
      const body = { name: name.value.trim() };
      if (externalId.value.trim()) body.externalId = externalId.value.trim();
      const consumer = await api('POST', '/v1/consumers', body);
      location.hash = `#/consumers/${encodeURIComponent(consumer.id)}`;
    });
  });
  return form;
}

/** Renders the consumers list into `view`. */
export function consumersView(view) {
  replace(
    view,
    el('h1', {}, 'Consumers'),
    createForm(),
    pagedTable(
      ['Name', 'Id', 'External id', 'Plan', 'Created'],
      (cursor) => api('GET', `/v1/consumers${query({ limit: 50, cursor })}`),
      (c) => [
        link(`/consumers/${encodeURIComponent(c.id)}`, c.name),
        el('code', {}, c.id),
        c.externalId ?? '—',
        c.planId ?? '—',
        when(c.createdAt),
      ],
      'No consumers yet: create the first one above.',
    ),
  );
}
