// Rotation policies: the default and per-consumer rules that rotate keys at an age.
import { api } from './api.js';
import { el, problemBox, replace, table, when } from './dom.js';
import { consumerLink } from './names.js';

/** Renders the rotation policies into `view`. */
export async function policiesView(view) {
  const body = el('div', {}, el('span', { class: 'muted' }, 'Loading…'));
  replace(
    view,
    el('h1', {}, 'Rotation policies'),
    el(
      'p',
      { class: 'muted' },
      'Keys older than "every" are rotated with the grace period; a consumer policy wins over the default.',
    ),
    body,
  );
  try {
    const policies = await api('GET', '/v1/rotation-policies');
    replace(
      body,
      table(
        ['Applies to', 'Every', 'Grace period', 'Retire', 'Notify before', 'On reuse', 'Updated'],
        policies.data.map((p) => [
          p.consumerId ? consumerLink(p.consumerId) : 'default (every consumer)',
          p.every,
          p.gracePeriod,
          String(p.retire.mode ?? '—'),
          p.notifyBefore ?? '—',
          p.onReuse,
          when(p.updatedAt),
        ]),
        'No rotation policy: keys are rotated by hand. Set one with PUT /v1/rotation-policies/default.',
      ),
    );
  } catch (err) {
    replace(body, problemBox(err));
  }
}
