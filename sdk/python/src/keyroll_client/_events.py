"""Events the client emits: ``deprecated``, ``rotated`` and ``error``."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Dict, List, Literal, Optional

RotationHow = Literal["claimed", "source", "self-rotate"]
"""How the client came to a new key."""

EventName = Literal["deprecated", "rotated", "error"]


@dataclass(frozen=True)
class DeprecatedEvent:
    """The key in use was superseded and stops working at ``retires_at`` (from ``Sunset``)."""

    key_id: Optional[str]
    hint: str
    """Display fragment of the key (``kr_live_…a1b2``), safe to log."""
    retires_at: Optional[datetime]


@dataclass(frozen=True)
class RotatedEvent:
    """The client switched keys; ids when keyroll named them."""

    from_key_id: Optional[str]
    to_key_id: Optional[str]
    from_hint: str
    to_hint: str
    how: RotationHow


class Emitter:
    """A small thread-safe emitter; a raising listener never breaks the client."""

    def __init__(self) -> None:
        self._listeners: Dict[str, List[Callable[[Any], None]]] = {}
        self._lock = threading.Lock()

    def on(self, event: str, listener: Callable[[Any], None]) -> Callable[[], None]:
        with self._lock:
            self._listeners.setdefault(event, []).append(listener)
        return lambda: self.off(event, listener)

    def off(self, event: str, listener: Callable[[Any], None]) -> None:
        with self._lock:
            listeners = self._listeners.get(event, [])
            if listener in listeners:
                listeners.remove(listener)

    def emit(self, event: str, payload: Any) -> bool:
        with self._lock:
            listeners = list(self._listeners.get(event, []))
        for listener in listeners:
            try:
                listener(payload)
            except Exception:  # noqa: BLE001 - a listener's bug must not stop a rotation half way
                pass
        return bool(listeners)

    def clear(self) -> None:
        with self._lock:
            self._listeners.clear()
