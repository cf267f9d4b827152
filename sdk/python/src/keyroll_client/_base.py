"""What every keyroll integration shares: the constructors, the events, ``rotate()`` and ``close()``."""

from __future__ import annotations

import os
from typing import Any, Callable, Literal, Mapping, Optional, Type, TypeVar, Union, overload

from ._duration import Duration
from ._engine import AutoRotate, KeyManager
from ._errors import KeyrollClientError
from ._events import DeprecatedEvent, RotatedEvent
from ._sources import KeyList, KeySource, from_env, from_file, from_value
from ._timers import Timers

S = TypeVar("S", bound="KeyrollBase")


class KeyrollBase:
    """The shared surface of :class:`KeyrollClient`, ``KeyrollAuth`` and ``KeyrollRequestsAuth``.

    ``keys`` is a key source (:func:`from_file`, :func:`from_env`, :func:`from_value` or any object
    with ``read()``); ``keyroll_url`` is keyroll's own API, needed for :meth:`rotate`,
    ``auto_rotate`` and claiming successors; ``header`` is ``"x-api-key"`` (default) or
    ``"authorization"`` (``Bearer``); ``claim_delay`` is how long a deprecated key stays in use
    before the successor is claimed (default 5 s); ``timers`` replaces the clock (tests);
    ``timeout`` bounds each call to keyroll (seconds).
    """

    def __init__(
        self,
        keys: KeySource,
        *,
        keyroll_url: Optional[str] = None,
        header: str = "x-api-key",
        claim_delay: Duration = "5s",
        auto_rotate: Optional[AutoRotate] = None,
        timers: Optional[Timers] = None,
        timeout: float = 10.0,
    ) -> None:
        self._engine = KeyManager(
            keys, keyroll_url=keyroll_url, header=header, claim_delay=claim_delay, auto_rotate=auto_rotate,
            timers=timers, timeout=timeout,
        )

    @classmethod
    def from_file(
        cls: Type[S], path: Union[str, "os.PathLike[str]"], *, poll_interval: float = 1.0, lock_stale: float = 30.0,
        lock_wait: float = 60.0, **options: Any,
    ) -> S:
        """Keys from a file, one a line (re-read on change, written atomically, shared under ``<path>.lock``)."""
        source = from_file(path, poll_interval=poll_interval, lock_stale=lock_stale, lock_wait=lock_wait)
        return cls(source, **options)

    @classmethod
    def from_env(cls: Type[S], name: str, *, env: Optional[Mapping[str, str]] = None, **options: Any) -> S:
        """The key in an environment variable, read at each look-up; rotated keys live in memory only."""
        return cls(from_env(name, env), **options)

    @classmethod
    def from_value(cls: Type[S], keys: KeyList, **options: Any) -> S:
        """A fixed key (or several, best first); rotated keys live in memory only."""
        return cls(from_value(keys), **options)

    @overload
    def on(self, event: Literal["deprecated"], listener: Callable[[DeprecatedEvent], None]) -> Callable[[], None]: ...

    @overload
    def on(self, event: Literal["rotated"], listener: Callable[[RotatedEvent], None]) -> Callable[[], None]: ...

    @overload
    def on(self, event: Literal["error"], listener: Callable[[KeyrollClientError], None]) -> Callable[[], None]: ...

    def on(self, event: str, listener: Callable[[Any], None]) -> Callable[[], None]:
        """Adds a listener for ``deprecated``, ``rotated`` or ``error``; returns a function that removes it.

        Listeners may run on the SDK's background threads.
        """
        if event not in ("deprecated", "rotated", "error"):
            raise KeyrollClientError("INVALID_OPTIONS", f"unknown event {event!r}")
        return self._engine.events.on(event, listener)

    def off(self, event: str, listener: Callable[[Any], None]) -> None:
        """Removes a listener."""
        self._engine.events.off(event, listener)

    def rotate(self, grace_period: Optional[Duration] = None) -> RotatedEvent:
        """Rolls the key through keyroll (``POST /v1/self/rotate``), writes the new key to the source, then switches."""
        event = self._engine.rotate(grace_period)
        if event is None:
            raise KeyrollClientError("NO_KEY", "the key source holds no key")
        return event

    def refresh(self) -> None:
        """Re-reads the source now and switches when its first key changed."""
        self._engine.refresh()

    @property
    def key_hint(self) -> Optional[str]:
        """Display fragment of the key in use (``kr_live_…a1b2``), once one was read."""
        return self._engine.key_hint

    def close(self) -> None:
        """Stops the automatic rotation and pending claims, and releases the source."""
        self._engine.close()
