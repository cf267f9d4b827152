// Names instead of ids: consumers, keys and plans are looked up once per view and shown by name.
import { api } from './api.js';
import { el, link } from './dom.js';

/** API path → promise of the display text of what it names (the id itself when it cannot be read). */
const texts = new Map();

/** The display text of the object at `path`, fetched once: `format(object)`, or `id` on failure. */
function lookup(path, id, format) {
  let text = texts.get(path);
  if (!text) {
    text = api('GET', path).then(format, () => id);
    texts.set(path, text);
  }
  return text;
}

/** `node` (showing `id` meanwhile, and as a tooltip) whose text becomes the looked-up name. */
function named(node, id, path, format) {
  node.title = id;
  lookup(path, id, format).then((text) => {
    node.textContent = text;
  });
  return node;
}

/** A link to consumer `id` that reads as its name; a dash without an id. */
export function consumerLink(id) {
  if (!id) return '—';
  const path = `/v1/consumers/${encodeURIComponent(id)}`;
  return named(link(`/consumers/${encodeURIComponent(id)}`, id), id, path, (c) => c.name);
}

/** A link to plan `id` that reads as its name; a dash without an id. */
export function planLink(id) {
  if (!id) return '—';
  const path = `/v1/plans/${encodeURIComponent(id)}`;
  return named(link(`/plans/${encodeURIComponent(id)}`, id), id, path, (p) => p.name);
}

/** How a key reads: its name and hint. */
export function keyLabel(key) {
  return `${key.name || 'unnamed'} (${key.hint})`;
}

/** Text that reads as key `id`'s name and hint; a dash without an id. */
export function keyText(id) {
  if (!id) return '—';
  const path = `/v1/keys/${encodeURIComponent(id)}`;
  return named(el('span', { class: 'name' }, id), id, path, keyLabel);
}

/** The target of an audit event: consumers, keys and plans by name, anything else as its type and id. */
export function targetText(type, id) {
  if (type === 'consumer') return ['consumer ', consumerLink(id)];
  if (type === 'key') return ['key ', keyText(id)];
  if (type === 'plan') return ['plan ', planLink(id)];
  if (type === 'rotation') return ['rotation ', link(`/rotations/${encodeURIComponent(id)}`, id)];
  return `${type} ${id}`;
}

/** The actor of an audit event (`kind:id`): a root or consumer key by its name, the system by its component. */
export function actorText(actor) {
  const [kind, id] = actor.split(/:(.*)/s);
  if ((kind === 'root' || kind === 'consumer') && id) return [`${kind} key `, keyText(id)];
  return actor;
}

/** Forgets the names looked up, so a new view shows renames. */
export function forgetNames() {
  texts.clear();
}
