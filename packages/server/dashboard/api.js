// The admin API client: the root key lives in sessionStorage only and goes out as a Bearer token.

const STORAGE_KEY = 'keyroll.rootKey';

/** An RFC 9457 problem returned by the API (or a network failure shown the same way). */
export class Problem extends Error {
  constructor(status, code, detail) {
    super(detail);
    this.status = status;
    this.code = code;
    this.detail = detail;
  }
}

/** The root key of this browser tab, or null when signed out. */
export function rootKey() {
  return sessionStorage.getItem(STORAGE_KEY);
}

/** Keeps the root key for this tab only. */
export function signIn(key) {
  sessionStorage.setItem(STORAGE_KEY, key);
}

/** Forgets the root key. */
export function signOut() {
  sessionStorage.removeItem(STORAGE_KEY);
}

/** Calls the admin API; resolves to the parsed JSON body (or null), rejects with a Problem. */
export async function api(method, path, body) {
  const headers = { authorization: `Bearer ${rootKey() ?? ''}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw new Problem(0, 'NETWORK', `the server did not answer (${err.message})`);
  }
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (res.status === 401 && rootKey() !== null) {
    signOut();
    window.dispatchEvent(
      new CustomEvent('keyroll:signed-out', { detail: json?.detail ?? 'the root key was rejected' }),
    );
  }
  if (!res.ok) {
    throw new Problem(res.status, json?.code ?? `HTTP_${res.status}`, json?.detail ?? res.statusText);
  }
  return json;
}

/** Builds a query string from the defined entries of `params`. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
