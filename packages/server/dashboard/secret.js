// The one-time display of a new secret key.
import { el } from './dom.js';

const KEY_WARNING = 'Copy this key now. You will not see it again: keyroll stores only its hash.';

/**
 * A panel showing `secret` once, with a copy button and `warning` (by default, the one of an API key);
 * `onDone` runs when the operator dismisses it.
 */
export function secretPanel(title, secret, onDone, warning = KEY_WARNING) {
  const status = el('span', { class: 'muted', role: 'status' });
  const code = el('code', { class: 'secret', 'data-testid': 'secret' }, secret);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret);
      status.textContent = 'Copied.';
    } catch {
      getSelection().selectAllChildren(code);
      status.textContent = 'Press Ctrl+C to copy the selected key.';
    }
  };
  const panel = el(
    'section',
    { class: 'secret-panel' },
    el('h3', {}, title),
    el('p', { class: 'warning' }, warning),
    el('div', { class: 'secret-row' }, code, el('button', { type: 'button', onclick: copy }, 'Copy')),
    status,
    el(
      'div',
      { class: 'actions' },
      el(
        'button',
        {
          type: 'button',
          class: 'primary',
          onclick: () => {
            panel.remove();
            onDone?.();
          },
        },
        'I have stored it',
      ),
    ),
  );
  return panel;
}
