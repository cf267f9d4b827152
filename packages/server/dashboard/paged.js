// A table filled page by page through the API's nextCursor.
import { append, el, problemBox, replace } from './dom.js';

/**
 * Renders a paged table: `load(cursor)` returns `{ data, nextCursor }`, `row(item)` returns the cells.
 * Returns the container; a "Load more" button appears while the server has more.
 */
export function pagedTable(headers, load, row, empty = 'Nothing here yet.') {
  const box = el('div', { class: 'paged' });
  const body = el('tbody');
  const tableEl = el(
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
    body,
  );
  const footer = el('div', { class: 'more' });
  let count = 0;
  const next = async (cursor) => {
    replace(footer, el('span', { class: 'muted' }, 'Loading…'));
    try {
      const page = await load(cursor);
      count += page.data.length;
      for (const item of page.data)
        append(body, [
          el(
            'tr',
            {},
            row(item).map((c) => el('td', {}, c)),
          ),
        ]);
      if (count === 0) replace(box, el('p', { class: 'muted' }, empty));
      replace(
        footer,
        page.nextCursor ? el('button', { type: 'button', onclick: () => next(page.nextCursor) }, 'Load more') : null,
      );
    } catch (err) {
      replace(footer, problemBox(err));
    }
  };
  append(box, [tableEl, footer]);
  next(undefined);
  return box;
}
