// Rotation policies: the default and per-consumer rules that rotate keys at an age; set and remove them.
import { api, Problem, query } from './api.js';
import { act, confirmDialog, el, formCard, problemBox, replace, table, when } from './dom.js';
import { consumerLink } from './names.js';

/** The consumer named exactly `name` (case-insensitive), found through `?q=`; a NOT_FOUND Problem when none. */
async function consumerNamed(name) {
  const page = await api('GET', `/v1/consumers${query({ q: name, limit: 100 })}`);
  const found = page.data.find((c) => c.name.toLowerCase() === name.toLowerCase());
  if (!found) throw new Problem(404, 'NOT_FOUND', `no consumer is named "${name}"`);
  return found;
}

/** The "set policy" form: for a consumer by name, or the default when the name is empty. */
function setForm(refresh) {
  const consumer = el('input', { name: 'policyConsumer', maxLength: 200, placeholder: 'empty: the default' });
  const every = el('input', { name: 'every', required: true, maxLength: 16, size: 6, value: '90d' });
  const grace = el('input', { name: 'policyGrace', required: true, maxLength: 16, size: 6, value: '7d' });
  return formCard(
    'Set a policy',
    [
      ['Consumer', consumer],
      ['Rotate every', every],
      ['Grace period', grace],
    ],
    'Set policy',
    async () => {
      const name = consumer.value.trim();
      const target = name ? (await consumerNamed(name)).id : 'default';
      await api('PUT', `/v1/rotation-policies/${encodeURIComponent(target)}`, {
        every: every.value.trim(),
        gracePeriod: grace.value.trim(),
      });
      await refresh();
    },
  );
}

/** Renders the rotation policies into `view`. */
export function policiesView(view) {
  const body = el('div', {}, el('span', { class: 'muted' }, 'Loading…'));
  const slot = el('div');
  const load = async () => {
    try {
      const policies = await api('GET', '/v1/rotation-policies');
      replace(
        body,
        table(
          ['Applies to', 'Every', 'Grace period', 'Retire', 'Notify before', 'On reuse', 'Updated', ''],
          policies.data.map((p) => [
            p.consumerId ? consumerLink(p.consumerId) : 'default (every consumer)',
            p.every,
            p.gracePeriod,
            String(p.retire.mode ?? '—'),
            p.notifyBefore ?? '—',
            p.onReuse,
            when(p.updatedAt),
            el(
              'button',
              {
                type: 'button',
                class: 'danger',
                'aria-label': `Remove the ${p.consumerId ? 'consumer' : 'default'} policy of every ${p.every}`,
                onclick: async (e) => {
                  const button = e.currentTarget;
                  if (!(await confirmDialog('Remove policy', 'Keys are no longer rotated by it.', 'Remove'))) return;
                  act(button, slot, async () => {
                    await api('DELETE', `/v1/rotation-policies/${encodeURIComponent(p.target)}`);
                    await load();
                  });
                },
              },
              'Remove',
            ),
          ]),
          'No rotation policy: keys are rotated by hand.',
        ),
      );
    } catch (err) {
      replace(body, problemBox(err));
    }
  };
  replace(
    view,
    el('h1', {}, 'Rotation policies'),
    el(
      'p',
      { class: 'muted' },
      'Keys older than "every" are rotated with the grace period; a consumer policy wins over the default.',
    ),
    setForm(load),
    slot,
    body,
  );
  load();
}
