import type { Store } from '@keyroll/storage';

/** The id of the built-in consumer whose keys are root keys: they administer keyroll and pass no API check. */
export const ROOT_CONSUMER_ID = 'root';

/** The audit action recorded when a root key is presented where API keys are checked. */
export const ROOT_KEY_PRESENTED = 'root_key.presented_to_verifier';

/** A root key presented to the verify API, the gateway, a middleware or an embedded verifier. */
export interface RootKeyPresentation {
  at: number;
  keyId: string;
  ip: string | undefined;
  userAgent: string | undefined;
}

/** Told when a root key is presented as an API key (it is refused as unknown either way). */
export type RootKeyListener = (presentation: RootKeyPresentation) => void;

/** What a {@link RootKeyAudit} needs. */
export interface RootKeyAuditOptions {
  store: Store;
  /** At most one event per root key in this span, per process (default 1 hour). */
  windowMs?: number;
  /** Told when an event cannot be written (the refusal stands regardless). */
  onError?: (error: unknown) => void;
}

/** Longest user agent kept in an event. */
const MAX_USER_AGENT = 256;

/**
 * Records `root_key.presented_to_verifier` in the audit log: a root key presented as an API key is
 * a leak or a misconfiguration. Deduplicated per root key and window, so presenting a root key in a
 * loop cannot flood the audit log; the next event counts the presentations it stood for.
 * @example
 * const audit = new RootKeyAudit({ store });
 * const verifier = new Verifier({ lookup, onRootKey: audit.listener });
 */
export class RootKeyAudit {
  readonly #store: Store;
  readonly #windowMs: number;
  readonly #onError: (error: unknown) => void;
  /** Per root key: when its last event was written and how many presentations went unrecorded since. */
  readonly #seen = new Map<string, { at: number; suppressed: number }>();
  #pending: Promise<void> = Promise.resolve();

  constructor(options: RootKeyAuditOptions) {
    this.#store = options.store;
    this.#windowMs = options.windowMs ?? 3_600_000;
    this.#onError = options.onError ?? (() => undefined);
  }

  /** The listener to give a {@link Verifier} as `onRootKey`. */
  readonly listener: RootKeyListener = (p) => this.#presented(p);

  /** Resolves once every event accepted so far is written (for tests and shutdown). */
  settled(): Promise<void> {
    return this.#pending;
  }

  #presented(p: RootKeyPresentation): void {
    const seen = this.#seen.get(p.keyId);
    if (seen && p.at - seen.at < this.#windowMs) {
      seen.suppressed++;
      return;
    }
    this.#seen.set(p.keyId, { at: p.at, suppressed: 0 });
    const data = {
      consumerId: ROOT_CONSUMER_ID,
      ip: p.ip ?? null,
      userAgent: p.userAgent?.slice(0, MAX_USER_AGENT) ?? null,
      earlierUnrecorded: seen?.suppressed ?? 0,
    };
    const write = this.#store.mutate((tx) =>
      tx.audit({
        at: p.at,
        actor: 'system:verifier',
        action: ROOT_KEY_PRESENTED,
        targetType: 'key',
        targetId: p.keyId,
        data,
      }),
    );
    this.#pending = Promise.all([this.#pending, write]).then(
      () => undefined,
      (error: unknown) => this.#onError(error),
    );
  }
}
