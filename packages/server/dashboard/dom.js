// DOM helpers. Every server string goes through textContent; nothing here ever assigns HTML.

/** Creates an element: `attrs` are properties/attributes (`on*` functions become listeners), children are nodes or text. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else if (k === 'class') node.className = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k in node && typeof v !== 'string') node[k] = v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  append(node, children);
  return node;
}

/** Appends nodes or text (as text nodes) to `node`. */
export function append(node, children) {
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

/** Replaces the children of `node`. */
export function replace(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}

/** A date-time for humans (UTC, to the second), or a dash. */
export function when(iso) {
  if (!iso) return '—';
  return `${iso
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z')
    .replace(/Z$/, ' UTC')}`;
}

/** A table with a header row; `rows` are arrays of cells (nodes or text). */
export function table(headers, rows, empty = 'Nothing here yet.') {
  if (rows.length === 0) return el('p', { class: 'muted' }, empty);
  return el(
    'table',
    {},
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        headers.map((h) => el('th', {}, h)),
      ),
    ),
    el(
      'tbody',
      {},
      rows.map((r) =>
        el(
          'tr',
          {},
          r.map((c) => el('td', {}, c)),
        ),
      ),
    ),
  );
}

/** A coloured status label. */
export function badge(text, kind = text) {
  return el('span', { class: `badge badge-${kind}` }, text);
}

/** A problem (or any error) shown with its code and detail. */
export function problemBox(err) {
  return el(
    'div',
    { class: 'problem', role: 'alert' },
    el('strong', {}, err.code ?? 'ERROR'),
    ' ',
    err.status ? el('span', { class: 'muted' }, `(${err.status}) `) : null,
    err.detail ?? err.message,
  );
}

/** A link to a dashboard route. */
export function link(route, text) {
  return el('a', { href: `#${route}` }, text);
}

/** Asks for confirmation in a modal dialog; resolves to true when confirmed. */
export function confirmDialog(title, message, confirmLabel, danger = true) {
  return new Promise((resolve) => {
    const dialog = el('dialog', { class: 'confirm' });
    const done = (answer) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    append(dialog, [
      el('h3', {}, title),
      el('p', {}, message),
      el(
        'div',
        { class: 'actions' },
        el('button', { type: 'button', onclick: () => done(false) }, 'Cancel'),
        el('button', { type: 'button', class: danger ? 'danger' : 'primary', onclick: () => done(true) }, confirmLabel),
      ),
    ]);
    dialog.addEventListener('cancel', () => done(false));
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** Runs an action from a button: disables it meanwhile and shows a failure in `slot`. */
export async function act(button, slot, fn) {
  button.disabled = true;
  replace(slot);
  try {
    await fn();
  } catch (err) {
    replace(slot, problemBox(err));
  } finally {
    button.disabled = false;
  }
}

/**
 * A card form that makes one change: a heading, labelled controls (`fields`: [label, control] pairs),
 * a primary submit button and a slot for a failure. Submitting runs `onSubmit` through {@link act}.
 * `options`: `heading` (its tag, `h2` by default), `note` (a muted line above the fields), `onCancel`
 * (adds a Cancel button calling it).
 */
export function formCard(title, fields, submitLabel, onSubmit, { heading = 'h2', note, onCancel } = {}) {
  const slot = el('div');
  const submit = el('button', { type: 'submit', class: 'primary' }, submitLabel);
  const form = el(
    'form',
    { class: 'card inline-form' },
    el(heading, {}, title),
    note ? el('p', { class: 'muted' }, note) : null,
    fields.map(([label, control]) => el('label', {}, `${label} `, control)),
    submit,
    onCancel ? el('button', { type: 'button', onclick: onCancel }, 'Cancel') : null,
    slot,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    act(submit, slot, onSubmit);
  });
  return form;
}
