import { KeyrollClientError } from './keyroll-client-error.js';
import { readProblem } from './problem.js';

/** A key handed out by keyroll's self-service (`/v1/self/rotate`, `/v1/self/successor`). */
export interface IssuedKey {
  key: string;
  /** Id of the new key, when the answer names it. */
  keyId: string | undefined;
  /** Id of the key it replaces, when the answer names it. */
  oldKeyId: string | undefined;
}

/**
 * POSTs to a self-service route of keyroll, authenticated by `key` in `x-api-key`, and returns the
 * key in the answer; any other answer is a {@link KeyrollClientError} with keyroll's problem code.
 */
export async function postSelfService(
  fetchFn: typeof fetch,
  keyrollUrl: string,
  path: string,
  key: string,
  body: Record<string, unknown> | undefined,
): Promise<IssuedKey> {
  const res = await fetchFn(joinUrl(keyrollUrl, path), {
    method: 'POST',
    headers: {
      'x-api-key': key,
      accept: 'application/json',
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  }).catch((e: unknown) => {
    throw new KeyrollClientError('NETWORK_ERROR', `POST ${path}: keyroll could not be reached`, undefined, {
      cause: e,
    });
  });
  if (!res.ok) {
    const problem = await readProblem(res);
    const code = problem?.code ?? `HTTP_${res.status}`;
    throw new KeyrollClientError(code, `POST ${path}: ${res.status} ${problem?.detail ?? res.statusText}`, res.status);
  }
  const json: unknown = await res.json();
  const issued = stringField(json, 'key');
  if (!issued) throw new KeyrollClientError('BAD_RESPONSE', `POST ${path}: the answer holds no key`, res.status);
  const rotation: unknown = typeof json === 'object' && json !== null ? Reflect.get(json, 'rotation') : undefined;
  return {
    key: issued,
    keyId: stringField(json, 'newKeyId') ?? stringField(json, 'id') ?? stringField(rotation, 'newKeyId'),
    oldKeyId: stringField(rotation, 'oldKeyId') ?? stringField(json, 'oldKeyId'),
  };
}

/** The id and creation time of `key`, from `GET /v1/self`; `undefined` fields when keyroll does not answer. */
export async function getSelfKey(
  fetchFn: typeof fetch,
  keyrollUrl: string,
  key: string,
): Promise<{ keyId: string | undefined; createdAt: number | undefined }> {
  const res = await fetchFn(joinUrl(keyrollUrl, '/v1/self'), {
    headers: { 'x-api-key': key, accept: 'application/json' },
  });
  if (!res.ok) {
    await res.body?.cancel();
    return { keyId: undefined, createdAt: undefined };
  }
  const self: unknown = Reflect.get(Object(await res.json()), 'key');
  const createdAt = Date.parse(stringField(self, 'createdAt') ?? '');
  return { keyId: stringField(self, 'id'), createdAt: Number.isNaN(createdAt) ? undefined : createdAt };
}

function stringField(obj: unknown, name: string): string | undefined {
  if (typeof obj !== 'object' || obj === null) return undefined;
  const value: unknown = Reflect.get(obj, name);
  return typeof value === 'string' ? value : undefined;
}

/** `base` + `path` keeping any path prefix of `base` (`https://h/api` + `/x` → `https://h/api/x`). */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}${path.startsWith('/') ? '' : '/'}${path}`;
}
