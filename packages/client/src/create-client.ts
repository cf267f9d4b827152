import { type AutoRotateOptions, scheduleAutoRotate } from './auto-rotate.js';
import { readDeprecation } from './deprecation.js';
import { type Duration, toMilliseconds } from './duration.js';
import { Emitter } from './emitter.js';
import { hintOf } from './hint.js';
import { type KeySource, toKeys } from './key-source.js';
import { KeyrollClientError } from './keyroll-client-error.js';
import { readProblem } from './problem.js';
import { isReplayableBody } from './replayable-body.js';
import { getSelfKey, type IssuedKey, joinUrl, postSelfService } from './self-service.js';
import { systemTimers, type Timers } from './timers.js';

/** Options of {@link createClient}. */
export interface ClientOptions {
  /** The provider's API, e.g. behind the keyroll gateway; request paths are appended to it. */
  baseUrl: string;
  /** Where the key comes from: `fromFile`, `fromEnv`, `fromValue` or your own {@link KeySource}. */
  keys: KeySource;
  /** keyroll's own API; enables `rotate()`, `autoRotate` and claiming server-initiated successors. */
  keyrollUrl?: string;
  /** How the key is sent: `x-api-key: <key>` (default) or `authorization: Bearer <key>`. */
  header?: 'x-api-key' | 'authorization';
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
  /** Rolls the key by itself when it reaches the age `every`, up to `jitter` earlier (default: a tenth of `every`). */
  autoRotate?: AutoRotateOptions;
  /**
   * How long a deprecated key stays in use before the client claims its successor from keyroll
   * (default 5s), so a key an operator drops into the source right after a rotation is found first.
   */
  claimDelay?: Duration;
  /** Clock, timers and randomness (tests inject their own). */
  timers?: Timers;
}

/** Payload of the `deprecated` event: the key in use was superseded and stops working at `retiresAt`. */
export interface DeprecatedEvent {
  keyId: string | undefined;
  /** Display fragment of the key (`kr_live_…a1b2`), safe to log. */
  hint: string;
  retiresAt: Date | undefined;
}

/** How the client came to a new key. */
export type RotationHow = 'claimed' | 'source' | 'self-rotate';

/** Payload of the `rotated` event: the client switched keys. */
export interface RotatedEvent {
  fromKeyId: string | undefined;
  toKeyId: string | undefined;
  fromHint: string;
  toHint: string;
  how: RotationHow;
}

/** Events of a {@link KeyrollClient}. */
export interface ClientEvents extends Record<string, unknown> {
  deprecated: DeprecatedEvent;
  rotated: RotatedEvent;
  /** A background step failed (a claim, a write to the source, an automatic rotation). */
  error: KeyrollClientError;
}

/** An API client whose key can change under it without a failed request. */
export interface KeyrollClient {
  /** `fetch` against `baseUrl` with the current key; follows rotations and retries once on a retired key. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** Rolls the key through keyroll (`POST /v1/self/rotate`), writes the new key to the source, then switches. */
  rotate(options?: { gracePeriod?: Duration }): Promise<RotatedEvent>;
  /** Re-reads the source now and switches when its first key changed. */
  refresh(): Promise<void>;
  /** Adds a listener; returns a function that removes it. */
  on<E extends keyof ClientEvents>(event: E, listener: (payload: ClientEvents[E]) => void): () => void;
  /** Removes a listener. */
  off<E extends keyof ClientEvents>(event: E, listener: (payload: ClientEvents[E]) => void): void;
  /** Display fragment of the key in use, once one was read. */
  readonly keyHint: string | undefined;
  /** Stops watching the source and the automatic rotation. */
  close(): Promise<void>;
}

/** Codes of a 401 after which another key from the source may succeed. */
const RECOVERABLE_CODES = new Set(['RETIRED', 'REVOKED', 'EXPIRED', 'NOT_FOUND']);
/** Codes that will never turn valid again for the same key. */
const PERMANENT_CODES = new Set(['RETIRED', 'REVOKED', 'EXPIRED']);
/** Deprecated responses re-read the source at most this often per key. */
const DEPRECATION_CHECK_MS = 1000;
/** After a failed claim that may be transient (network, 5xx), wait this long before claiming again. */
const CLAIM_RETRY_MS = 5000;

/**
 * Creates a client for the provider's API that keeps working while its key is rotated.
 * @example
 * const client = createClient({ baseUrl: 'https://api.example.com', keys: fromFile('/run/secrets/api-key'), keyrollUrl: 'https://keys.example.com' });
 * const res = await client.fetch('/api/prices?symbol=ETH');
 */
export function createClient(options: ClientOptions): KeyrollClient {
  return new Client(options);
}

class Client implements KeyrollClient {
  readonly #baseUrl: string;
  readonly #keyrollUrl: string | undefined;
  readonly #source: KeySource;
  readonly #header: 'x-api-key' | 'authorization';
  readonly #fetch: typeof fetch;
  readonly #timers: Timers;
  readonly #claimDelayMs: number;
  readonly #events = new Emitter<ClientEvents>();
  #current: string | undefined;
  #loading: Promise<string> | undefined;
  /** Ids learned from keyroll's answers, by key (kept in memory only, like the keys themselves). */
  readonly #keyIds = new Map<string, string>();
  readonly #rejected = new Set<string>();
  readonly #lastDeprecationCheck = new Map<string, number>();
  /** When each key was first seen deprecated. */
  readonly #deprecatedSince = new Map<string, number>();
  /** Earliest time a claim for a key may be tried again (Infinity: never). */
  readonly #claimBlockedUntil = new Map<string, number>();
  /** Serialises every key change so they never interleave. */
  #serial: Promise<unknown> = Promise.resolve();
  #stopWatching: (() => void) | undefined;
  readonly #cancelOnClose = new Set<() => void>();
  #closed = false;

  constructor(options: ClientOptions) {
    if (!options.baseUrl) throw new KeyrollClientError('INVALID_OPTIONS', 'baseUrl is required');
    if (!options.keys || typeof options.keys.read !== 'function') {
      throw new KeyrollClientError('INVALID_OPTIONS', 'keys must be a key source ({ read() })');
    }
    this.#baseUrl = options.baseUrl;
    this.#keyrollUrl = options.keyrollUrl;
    this.#source = options.keys;
    this.#header = options.header ?? 'x-api-key';
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#timers = options.timers ?? systemTimers;
    const claimDelay = toMilliseconds(options.claimDelay ?? '5s');
    if (claimDelay === null) throw new KeyrollClientError('INVALID_OPTIONS', 'claimDelay must be a duration');
    this.#claimDelayMs = claimDelay;
    this.#stopWatching = this.#source.watch?.(() => {
      this.refresh().catch((e: unknown) => this.#fail(e, 'SOURCE_READ_FAILED'));
    });
    if (options.autoRotate) {
      this.#requireKeyrollUrl('autoRotate');
      const gracePeriod = options.autoRotate.gracePeriod;
      this.#cancelOnClose.add(
        scheduleAutoRotate({
          options: options.autoRotate,
          timers: this.#timers,
          keyCreatedAt: () => this.#keyCreatedAt(),
          // Only if the key is still the one in use once the source was re-read under its lock:
          // another process sharing the source may have rotated it already.
          rotate: async () => {
            await this.#rotate(gracePeriod === undefined ? {} : { gracePeriod }, await this.#currentKey());
          },
          onError: (e) => this.#fail(e, 'AUTO_ROTATE_FAILED'),
        }),
      );
    }
  }

  get keyHint(): string | undefined {
    return this.#current === undefined ? undefined : hintOf(this.#current);
  }

  on<E extends keyof ClientEvents>(event: E, listener: (payload: ClientEvents[E]) => void): () => void {
    return this.#events.on(event, listener);
  }

  off<E extends keyof ClientEvents>(event: E, listener: (payload: ClientEvents[E]) => void): void {
    this.#events.off(event, listener);
  }

  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const key = await this.#currentKey();
    const res = await this.#send(path, init, key);
    return this.#handle(path, init, key, res, true);
  }

  async rotate(options: { gracePeriod?: Duration } = {}): Promise<RotatedEvent> {
    const event = await this.#rotate(options, undefined);
    if (!event) throw new KeyrollClientError('NO_KEY', 'the key source holds no key');
    return event;
  }

  /** Rolls the key in use; with `onlyIf`, only when that key is still in use once the source was re-read under its lock. */
  async #rotate(options: { gracePeriod?: Duration }, onlyIf: string | undefined): Promise<RotatedEvent | undefined> {
    const keyrollUrl = this.#requireKeyrollUrl('rotate()');
    await this.#currentKey();
    return this.#exclusively(async () => {
      this.#adoptFirst(await this.#readKeys());
      const from = this.#current;
      if (from === undefined || (onlyIf !== undefined && from !== onlyIf)) return undefined;
      const body = options.gracePeriod === undefined ? {} : { gracePeriod: options.gracePeriod };
      const issued = await postSelfService(this.#fetch, keyrollUrl, '/v1/self/rotate', from, body);
      return this.#persistThenAdopt(issued, from, 'self-rotate');
    });
  }

  async refresh(): Promise<void> {
    await this.#serially(async () => {
      if (this.#current === undefined) return;
      this.#adoptFirst(await this.#readKeys());
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopWatching?.();
    for (const cancel of this.#cancelOnClose) cancel();
    await this.#serial.catch(() => undefined);
    await this.#source.close?.();
    this.#events.clear();
  }

  async #send(path: string, init: RequestInit, key: string): Promise<Response> {
    if (this.#closed) throw new KeyrollClientError('CLOSED', 'the client is closed');
    const headers = new Headers(init.headers);
    if (this.#header === 'authorization') headers.set('authorization', `Bearer ${key}`);
    else headers.set('x-api-key', key);
    return this.#fetch(joinUrl(this.#baseUrl, path), { ...init, headers });
  }

  /** Looks at a response: a recoverable 401 switches keys (and retries once), a deprecation starts the hand-over. */
  async #handle(path: string, init: RequestInit, key: string, res: Response, mayRetry: boolean): Promise<Response> {
    if (res.status === 401) {
      const problem = await readProblem(res);
      const code = [problem?.code, problem?.verifyCode].find((c) => c !== undefined && RECOVERABLE_CODES.has(c));
      if (code === undefined) return res;
      const next = await this.#afterRejection(key, code);
      if (next === undefined || !mayRetry || !isReplayableBody(init.body)) return res;
      await res.body?.cancel().catch(() => undefined);
      return this.#handle(path, init, next, await this.#send(path, init, next), false);
    }
    const notice = readDeprecation(res.headers);
    if (notice) this.#onDeprecated(key, notice.retiresAt);
    return res;
  }

  /** After `key` was refused with `code`: the key to try instead, if the source (or a switch already made) has one. */
  async #afterRejection(key: string, code: string): Promise<string | undefined> {
    if (PERMANENT_CODES.has(code)) this.#rejected.add(key);
    return this.#serially(async () => {
      if (this.#current !== undefined && this.#current !== key && !this.#rejected.has(this.#current)) {
        return this.#current;
      }
      const keys = await this.#readKeys();
      const next = keys.find((k) => k !== key && !this.#rejected.has(k));
      // NOT_FOUND may only mean the key has not reached this node yet: retry with the fallback, keep the key.
      const keyGone = this.#rejected.has(key) || !keys.includes(key);
      if (next !== undefined && this.#current === key && keyGone) this.#adopt(next, 'source');
      return next;
    });
  }

  #onDeprecated(key: string, retiresAt: Date | undefined): void {
    if (!this.#deprecatedSince.has(key)) {
      this.#deprecatedSince.set(key, this.#timers.now());
      this.#emitDeprecated(key, retiresAt);
    }
    const now = this.#timers.now();
    if (key !== this.#current || now - (this.#lastDeprecationCheck.get(key) ?? -Infinity) < DEPRECATION_CHECK_MS)
      return;
    this.#lastDeprecationCheck.set(key, now);
    this.#followDeprecation(key).catch((e: unknown) => this.#fail(e, 'CLAIM_FAILED'));
  }

  /** Emits `deprecated`, naming the key's id (asked of keyroll's `GET /v1/self` when it is not known yet). */
  #emitDeprecated(key: string, retiresAt: Date | undefined): void {
    const emit = (): void => {
      this.#events.emit('deprecated', { keyId: this.#keyIds.get(key), hint: hintOf(key), retiresAt });
    };
    if (this.#keyIds.has(key) || this.#keyrollUrl === undefined) {
      emit();
      return;
    }
    getSelfKey(this.#fetch, this.#keyrollUrl, key)
      .then((self) => {
        if (self.keyId) this.#keyIds.set(key, self.keyId);
      })
      .catch(() => undefined)
      .finally(emit);
  }

  /** Moves off a deprecated key: to a newer key in the source, else to the successor claimed from keyroll. */
  async #followDeprecation(key: string): Promise<void> {
    const switched = await this.#serially(async () => this.#adoptFirst(await this.#readKeys()));
    const keyrollUrl = this.#keyrollUrl;
    if (switched || keyrollUrl === undefined || this.#current !== key) return;
    const now = this.#timers.now();
    if (now < (this.#claimBlockedUntil.get(key) ?? -Infinity)) return;
    const claimAt = (this.#deprecatedSince.get(key) ?? now) + this.#claimDelayMs;
    if (now < claimAt) {
      this.#claimBlockedUntil.set(key, claimAt);
      const cancel = this.#timers.schedule(() => {
        this.#cancelOnClose.delete(cancel);
        this.#followDeprecation(key).catch((e: unknown) => this.#fail(e, 'CLAIM_FAILED'));
      }, claimAt - now);
      this.#cancelOnClose.add(cancel);
      return;
    }
    await this.#exclusively(async () => {
      // Another process sharing the source may have claimed while this one waited for the lock.
      if (this.#adoptFirst(await this.#readKeys()) || this.#current !== key) return;
      let issued: IssuedKey;
      try {
        issued = await postSelfService(this.#fetch, keyrollUrl, '/v1/self/successor', key, undefined);
      } catch (e) {
        const definite = e instanceof KeyrollClientError && e.status !== undefined && e.status < 500;
        this.#claimBlockedUntil.set(key, definite ? Infinity : this.#timers.now() + CLAIM_RETRY_MS);
        throw e;
      }
      await this.#persistThenAdopt(issued, key, 'claimed');
    });
  }

  /** Writes the new key (and the old one as fallback) to the source first, then switches to it. */
  async #persistThenAdopt(issued: IssuedKey, from: string, how: RotationHow): Promise<RotatedEvent> {
    if (issued.keyId) this.#keyIds.set(issued.key, issued.keyId);
    if (issued.oldKeyId) this.#keyIds.set(from, issued.oldKeyId);
    let writeError: KeyrollClientError | undefined;
    try {
      await this.#source.write?.([issued.key, from]);
    } catch (e) {
      // The key exists only once (a claim cannot be repeated): keep it in memory rather than lose it.
      writeError = new KeyrollClientError(
        'SOURCE_WRITE_FAILED',
        'the new key could not be written to the source',
        undefined,
        {
          cause: e,
        },
      );
    }
    const event = this.#adopt(issued.key, how);
    if (writeError) throw writeError;
    return event;
  }

  /** Switches to the source's first usable key when it differs from the one in use; returns whether it did. */
  #adoptFirst(keys: readonly string[]): boolean {
    const first = keys.find((k) => !this.#rejected.has(k));
    if (first === undefined || first === this.#current) return false;
    this.#adopt(first, 'source');
    return true;
  }

  #adopt(next: string, how: RotationHow): RotatedEvent {
    const from = this.#current ?? next;
    this.#current = next;
    const event: RotatedEvent = {
      fromKeyId: this.#keyIds.get(from),
      toKeyId: this.#keyIds.get(next),
      fromHint: hintOf(from),
      toHint: hintOf(next),
      how,
    };
    if (from !== next) this.#events.emit('rotated', event);
    return event;
  }

  async #currentKey(): Promise<string> {
    if (this.#current !== undefined) return this.#current;
    // One read for the callers arriving together; a failed read is tried again by the next call.
    this.#loading ??= this.#readKeys()
      .then((keys) => {
        const first = keys[0];
        if (first === undefined) throw new KeyrollClientError('NO_KEY', 'the key source holds no key');
        this.#current ??= first;
        return this.#current;
      })
      .finally(() => {
        this.#loading = undefined;
      });
    return this.#loading;
  }

  async #readKeys(): Promise<string[]> {
    try {
      return toKeys(await this.#source.read());
    } catch (e) {
      throw new KeyrollClientError('SOURCE_READ_FAILED', 'the key source could not be read', undefined, { cause: e });
    }
  }

  #serially<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#serial.then(fn, fn);
    this.#serial = run.catch(() => undefined);
    return run;
  }

  /** Runs `fn` serially in this process and, when the source supports it, exclusively among processes. */
  #exclusively<T>(fn: () => Promise<T>): Promise<T> {
    const source = this.#source;
    return this.#serially(() => (source.exclusive ? source.exclusive(fn) : fn()));
  }

  #requireKeyrollUrl(what: string): string {
    if (this.#keyrollUrl === undefined) {
      throw new KeyrollClientError('NO_KEYROLL_URL', `${what} needs keyrollUrl in the client options`);
    }
    return this.#keyrollUrl;
  }

  #fail(e: unknown, code: string): void {
    const error =
      e instanceof KeyrollClientError ? e : new KeyrollClientError(code, errorMessage(e), undefined, { cause: e });
    this.#events.emit('error', error);
  }

  /** When the key in use was created, from `GET /v1/self`; also learns its id. */
  async #keyCreatedAt(): Promise<number | undefined> {
    const key = await this.#currentKey();
    const self = await getSelfKey(this.#fetch, this.#requireKeyrollUrl('autoRotate'), key);
    if (self.keyId) this.#keyIds.set(key, self.keyId);
    return self.createdAt;
  }
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
