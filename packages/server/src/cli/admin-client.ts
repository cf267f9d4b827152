import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where the CLI finds the server and the root key it authenticates with. */
export interface AdminTarget {
  url: string;
  rootKey: string;
  /** The root-key file the key was read from (not set for `--root-key` / `KEYROLL_ROOT_KEY`). */
  rootKeyFile?: string | undefined;
}

/** Resolves the server URL and root key from flags, the environment, or `<data dir>/root-key`. */
export function resolveTarget(flags: { url?: string; rootKey?: string }): AdminTarget {
  const url =
    flags.url ??
    process.env.KEYROLL_URL ??
    `http://${process.env.KEYROLL_HOST ?? '127.0.0.1'}:${process.env.KEYROLL_PORT ?? '7070'}`;
  const file = join(process.env.KEYROLL_DATA_DIR ?? './.keyroll', 'root-key');
  const given = flags.rootKey ?? process.env.KEYROLL_ROOT_KEY;
  const rootKey = given ?? (existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined);
  if (!rootKey) throw new Error(`no root key: pass --root-key, set KEYROLL_ROOT_KEY, or run where ${file} exists`);
  return { url: url.replace(/\/$/, ''), rootKey, rootKeyFile: given === undefined ? file : undefined };
}

/** An API error as the CLI reports it: the problem's status, code and detail, and the URL tried. */
export class AdminApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly url: string,
  ) {
    super(`${status} ${code}: ${detail} (${url})`);
  }
}

/** The server never answered: `reason` is the system error code (`ECONNREFUSED`, …) where there is one. */
export class AdminUnreachableError extends Error {
  readonly code = 'UNREACHABLE';
  constructor(
    readonly reason: string,
    readonly url: string,
    options?: ErrorOptions,
  ) {
    super(`cannot reach keyroll at ${url}: ${reason}`, options);
  }
}

/** Why a request never got an answer: the system error code (`ECONNREFUSED`, `ENOTFOUND`, …) where there is one. */
function unreachableReason(error: unknown): string {
  const cause = error instanceof Error && error.cause !== undefined ? error.cause : error;
  const first = cause instanceof AggregateError ? cause.errors[0] : cause;
  for (const candidate of [cause, first]) {
    if (candidate instanceof Error && 'code' in candidate && typeof candidate.code === 'string') return candidate.code;
  }
  return cause instanceof Error ? cause.message : String(cause);
}

/** Calls the admin API; throws {@link AdminApiError} with the problem's code on a non-2xx answer. */
export async function callAdmin<T>(target: AdminTarget, method: string, path: string, body?: unknown): Promise<T> {
  const url = `${target.url}${path}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${target.rootKey}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (e) {
    throw new AdminUnreachableError(unreachableReason(e), url, { cause: e });
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    throw new AdminApiError(res.status, 'NOT_KEYROLL', 'the answer is not JSON: is the URL right?', url);
  }
  if (!res.ok) {
    const field = (name: string) =>
      parsed !== null && typeof parsed === 'object' && name in parsed ? String(Reflect.get(parsed, name)) : undefined;
    throw new AdminApiError(res.status, field('code') ?? 'UNKNOWN', field('detail') ?? text, url);
  }
  return parsed as T;
}

/** Every item of a paginated admin listing, page by page (`path` may carry a query; `cursor` is added). */
export async function* adminPages<T>(target: AdminTarget, path: string): AsyncGenerator<T> {
  let cursor: string | null = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const url: string = cursor === null ? path : `${path}${sep}cursor=${encodeURIComponent(cursor)}`;
    const page: { data: T[]; nextCursor: string | null } = await callAdmin(target, 'GET', url);
    yield* page.data;
    cursor = page.nextCursor;
  } while (cursor !== null);
}
