"""The key manager behind every integration: which key to send, and how to move to the next one.

It is transport-agnostic: the stdlib client, the ``httpx`` and the ``requests`` integrations ask it
for the key to send, tell it what came back, and it switches keys (from the source, by claiming a
successor from keyroll, or by rotating) with the same semantics as the TypeScript SDK.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Dict, List, Optional, Set, TypeVar

from ._duration import Duration, to_seconds
from ._errors import KeyrollClientError
from ._events import DeprecatedEvent, Emitter, RotatedEvent, RotationHow
from ._hint import hint_of
from ._http import PERMANENT_CODES, IssuedKey, get_self_key, post_self_service, read_deprecation
from ._sources import KeySource, to_keys
from ._timers import SystemTimers, Timers

T = TypeVar("T")

DEPRECATION_CHECK_S = 1.0
"""Deprecated responses re-read the source at most this often per key."""
CLAIM_RETRY_S = 5.0
"""After a failed claim that may be transient (network, 5xx), wait this long before claiming again."""
AUTO_ROTATE_RETRY_S = 60.0
"""After a failed automatic rotation, try again this much later (at most)."""


@dataclass(frozen=True)
class AutoRotate:
    """Roll the key by itself at the age ``every`` (counted from the key's creation), up to ``jitter`` earlier.

    ``jitter`` defaults to a tenth of ``every``; ``grace_period`` of each rotation defaults to the
    server's policy.
    """

    every: Duration
    jitter: Optional[Duration] = None
    grace_period: Optional[Duration] = None


class KeyManager:
    """Holds the key in use and moves to the next one; thread-safe."""

    def __init__(
        self,
        source: KeySource,
        *,
        keyroll_url: Optional[str] = None,
        header: str = "x-api-key",
        claim_delay: Duration = "5s",
        auto_rotate: Optional[AutoRotate] = None,
        timers: Optional[Timers] = None,
        timeout: float = 10.0,
    ) -> None:
        if source is None or not callable(getattr(source, "read", None)):
            raise KeyrollClientError("INVALID_OPTIONS", "keys must be a key source (an object with read())")
        if header not in ("x-api-key", "authorization"):
            raise KeyrollClientError("INVALID_OPTIONS", "header must be 'x-api-key' or 'authorization'")
        delay = to_seconds(claim_delay)
        if delay is None:
            raise KeyrollClientError("INVALID_OPTIONS", "claim_delay must be a duration")
        self.source = source
        self.keyroll_url = keyroll_url
        self.header = header
        self.timeout = timeout
        self.events = Emitter()
        self._claim_delay = delay
        self._timers: Timers = timers if timers is not None else SystemTimers()
        self._current: Optional[str] = None
        self._key_ids: Dict[str, str] = {}
        self._rejected: Set[str] = set()
        self._last_deprecation_check: Dict[str, float] = {}
        self._deprecated_since: Dict[str, float] = {}
        self._claim_blocked_until: Dict[str, float] = {}
        self._serial = threading.RLock()
        """Serialises every key change in this process (and is held around the source's exclusive())."""
        self._state = threading.Lock()
        self._cancel_on_close: List[Callable[[], None]] = []
        self._closed = False
        if auto_rotate is not None:
            self.require_keyroll_url("auto_rotate")
            self._start_auto_rotate(auto_rotate)

    # --- the key to send -------------------------------------------------------------------------

    @property
    def key_hint(self) -> Optional[str]:
        """Display fragment of the key in use, once one was read."""
        current = self._current
        return None if current is None else hint_of(current)

    def loaded(self) -> bool:
        """Whether a key was read already (so :meth:`current_key` does not wait for the source)."""
        return self._current is not None

    def current_key(self) -> str:
        """The key to send now; reads the source on first use and when it reports a change."""
        if self._closed:
            raise KeyrollClientError("CLOSED", "the client is closed")
        self._refresh_if_changed()
        current = self._current
        if current is not None:
            return current
        with self._serial:
            if self._current is None:
                keys = self._read_keys()
                if not keys:
                    raise KeyrollClientError("NO_KEY", "the key source holds no key")
                self._current = keys[0]
            return self._current

    def header_for(self, key: str) -> tuple[str, str]:
        """The header (name, value) that carries ``key``."""
        if self.header == "authorization":
            return "authorization", f"Bearer {key}"
        return "x-api-key", key

    # --- what came back ----------------------------------------------------------------------------

    def after_rejection(self, key: str, code: str) -> Optional[str]:
        """After ``key`` was refused with a recoverable ``code``: the key to try instead, if there is one."""
        if code in PERMANENT_CODES:
            with self._state:
                self._rejected.add(key)
        with self._serial:
            current = self._current
            if current is not None and current != key and current not in self._rejected:
                return current
            keys = self._read_keys()
            nxt = next((k for k in keys if k != key and k not in self._rejected), None)
            # NOT_FOUND may only mean the key has not reached this node yet: retry with the fallback, keep the key.
            key_gone = key in self._rejected or key not in keys
            if nxt is not None and self._current == key and key_gone:
                self._adopt(nxt, "source")
            return nxt

    def observe(self, key: str, deprecation: Optional[str], sunset: Optional[str]) -> None:
        """Looks at the ``Deprecation``/``Sunset`` headers of a response made with ``key``."""
        notice = read_deprecation(deprecation, sunset)
        if notice is None:
            return
        retires_at = notice.retires_at
        now = self._timers.now()
        with self._state:
            first = key not in self._deprecated_since
            if first:
                self._deprecated_since[key] = now
            check = key == self._current and now - self._last_deprecation_check.get(key, float("-inf")) >= (
                DEPRECATION_CHECK_S
            )
            if check:
                self._last_deprecation_check[key] = now
        if first or check:
            thread = threading.Thread(
                target=self._on_deprecated, args=(key, retires_at, first, check), name="keyroll-deprecation",
                daemon=True,
            )
            thread.start()

    # --- operations ----------------------------------------------------------------------------------

    def rotate(self, grace_period: Optional[Duration] = None, only_if: Optional[str] = None) -> Optional[RotatedEvent]:
        """Rolls the key in use through ``POST /v1/self/rotate``, writes the new key to the source, then switches.

        With ``only_if``, only when that key is still in use once the source was re-read under its lock.
        """
        keyroll_url = self.require_keyroll_url("rotate()")
        self.current_key()

        def under_lock() -> Optional[RotatedEvent]:
            self._adopt_first(self._read_keys())
            start = self._current
            if start is None or (only_if is not None and start != only_if):
                return None
            body: Dict[str, Any] = {} if grace_period is None else {"gracePeriod": grace_period}
            issued = post_self_service(keyroll_url, "/v1/self/rotate", start, body, self.timeout)
            return self._persist_then_adopt(issued, start, "self-rotate")

        return self._exclusively(under_lock)

    def refresh(self) -> None:
        """Re-reads the source now and switches when its first usable key changed."""
        with self._serial:
            if self._current is not None:
                self._adopt_first(self._read_keys())

    def close(self) -> None:
        """Stops the automatic rotation and pending claims; releases the source."""
        if self._closed:
            return
        self._closed = True
        for cancel in list(self._cancel_on_close):
            cancel()
        close = getattr(self.source, "close", None)
        if callable(close):
            close()
        self.events.clear()

    def require_keyroll_url(self, what: str) -> str:
        """keyroll's URL, or ``NO_KEYROLL_URL`` naming what needed it."""
        if self.keyroll_url is None:
            raise KeyrollClientError("NO_KEYROLL_URL", f"{what} needs keyroll_url in the client options")
        return self.keyroll_url

    # --- internals ---------------------------------------------------------------------------------------

    def _refresh_if_changed(self) -> None:
        changed = getattr(self.source, "changed", None)
        if self._current is None or not callable(changed):
            return
        # Never wait here: whoever holds the lock is changing keys; the change is looked at next time.
        if not self._serial.acquire(blocking=False):
            return
        try:
            if changed():
                self._adopt_first(self._read_keys())
        except KeyrollClientError as e:
            self._fail(e, "SOURCE_READ_FAILED")
        finally:
            self._serial.release()

    def _on_deprecated(self, key: str, retires_at: Optional[datetime], first: bool, check: bool) -> None:
        if first:
            if key not in self._key_ids and self.keyroll_url is not None:
                try:
                    key_id, _ = get_self_key(self.keyroll_url, key, self.timeout)
                    if key_id:
                        self._key_ids[key] = key_id
                except KeyrollClientError:
                    pass
            self.events.emit("deprecated", DeprecatedEvent(self._key_ids.get(key), hint_of(key), retires_at))
        if check:
            self._follow_safely(key)

    def _follow_safely(self, key: str) -> None:
        try:
            self._follow_deprecation(key)
        except Exception as e:  # noqa: BLE001 - a background step reports through the error event
            self._fail(e, "CLAIM_FAILED")

    def _follow_deprecation(self, key: str) -> None:
        """Moves off a deprecated key: to a newer key in the source, else to the successor claimed from keyroll."""
        if self._closed:
            return
        with self._serial:
            switched = self._adopt_first(self._read_keys())
        keyroll_url = self.keyroll_url
        if switched or keyroll_url is None or self._current != key:
            return
        now = self._timers.now()
        with self._state:
            if now < self._claim_blocked_until.get(key, float("-inf")):
                return
            claim_at = self._deprecated_since.get(key, now) + self._claim_delay
            if now < claim_at:
                self._claim_blocked_until[key] = claim_at
                cancel = self._timers.schedule(lambda: self._follow_safely(key), claim_at - now)
                self._cancel_on_close.append(cancel)
                return

        url: str = keyroll_url

        def claim() -> None:
            # Another process sharing the source may have claimed while this one waited for the lock.
            if self._adopt_first(self._read_keys()) or self._current != key:
                return
            try:
                issued = post_self_service(url, "/v1/self/successor", key, None, self.timeout)
            except KeyrollClientError as e:
                definite = e.status is not None and e.status < 500
                with self._state:
                    self._claim_blocked_until[key] = (
                        float("inf") if definite else self._timers.now() + CLAIM_RETRY_S
                    )
                raise
            self._persist_then_adopt(issued, key, "claimed")

        self._exclusively(claim)

    def _persist_then_adopt(self, issued: IssuedKey, start: str, how: RotationHow) -> RotatedEvent:
        """Writes the new key (and the old one as fallback) to the source first, then switches to it."""
        if issued.key_id:
            self._key_ids[issued.key] = issued.key_id
        if issued.old_key_id:
            self._key_ids[start] = issued.old_key_id
        write_error: Optional[KeyrollClientError] = None
        write = getattr(self.source, "write", None)
        if callable(write):
            try:
                write([issued.key, start])
            except Exception as e:  # noqa: BLE001 - the key exists once: keep it in memory rather than lose it
                write_error = KeyrollClientError("SOURCE_WRITE_FAILED", f"the new key could not be written ({e})")
        event = self._adopt(issued.key, how)
        if write_error is not None:
            raise write_error
        return event

    def _adopt_first(self, keys: List[str]) -> bool:
        first = next((k for k in keys if k not in self._rejected), None)
        if first is None or first == self._current:
            return False
        self._adopt(first, "source")
        return True

    def _adopt(self, nxt: str, how: RotationHow) -> RotatedEvent:
        start = self._current if self._current is not None else nxt
        self._current = nxt
        event = RotatedEvent(self._key_ids.get(start), self._key_ids.get(nxt), hint_of(start), hint_of(nxt), how)
        if start != nxt:
            self.events.emit("rotated", event)
        return event

    def _read_keys(self) -> List[str]:
        try:
            return to_keys(self.source.read())
        except Exception as e:
            raise KeyrollClientError("SOURCE_READ_FAILED", f"the key source could not be read ({e})") from e

    def _exclusively(self, fn: Callable[[], T]) -> T:
        with self._serial:
            exclusive = getattr(self.source, "exclusive", None)
            if callable(exclusive):
                result: T = exclusive(fn)
                return result
            return fn()

    def _fail(self, e: BaseException, code: str) -> None:
        error = e if isinstance(e, KeyrollClientError) else KeyrollClientError(code, str(e))
        self.events.emit("error", error)

    def _start_auto_rotate(self, options: AutoRotate) -> None:
        every_or_none = to_seconds(options.every)
        if every_or_none is None or every_or_none <= 0:
            raise KeyrollClientError("INVALID_OPTIONS", "auto_rotate.every must be a duration")
        every: float = every_or_none
        jitter_or_none = every / 10 if options.jitter is None else to_seconds(options.jitter)
        if jitter_or_none is None or jitter_or_none > every:
            raise KeyrollClientError("INVALID_OPTIONS", "auto_rotate.jitter must be a duration no longer than every")
        jitter: float = jitter_or_none
        timers = self._timers

        def next_due(start: float) -> float:
            return start + every - timers.random() * jitter

        def arm(due_at: float) -> None:
            if self._closed:
                return
            self._cancel_on_close.append(timers.schedule(lambda: fire(due_at), max(0.0, due_at - timers.now())))

        def fire(due_at: float) -> None:
            if self._closed:
                return
            if timers.now() < due_at:
                arm(due_at)
                return
            try:
                self.rotate(options.grace_period, only_if=self.current_key())
            except Exception as e:  # noqa: BLE001 - reported through the error event, then tried again
                self._fail(e, "AUTO_ROTATE_FAILED")
                arm(timers.now() + min(every, AUTO_ROTATE_RETRY_S))
                return
            arm(next_due(timers.now()))

        def start() -> None:
            created: Optional[float] = None
            try:
                key = self.current_key()
                key_id, created = get_self_key(self.require_keyroll_url("auto_rotate"), key, self.timeout)
                if key_id:
                    self._key_ids[key] = key_id
            except Exception as e:  # noqa: BLE001
                self._fail(e, "AUTO_ROTATE_FAILED")
            arm(next_due(created if created is not None else timers.now()))

        self._cancel_on_close.append(timers.schedule(start, 0))
