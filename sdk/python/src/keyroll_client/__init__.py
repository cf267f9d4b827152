"""keyroll's consumer SDK: your API clients keep working while their keys change.

- :class:`KeyrollClient` — an HTTP client on the standard library alone.
- ``KeyrollAuth`` — an ``httpx.Auth`` (sync and async); imported on first use, so ``httpx`` stays optional.
- ``keyroll_client.requests.KeyrollRequestsAuth`` — a ``requests`` auth.

All take a key source (:func:`from_file`, :func:`from_env`, :func:`from_value` or your own object
with ``read()``) and share the constructors ``from_file``, ``from_env`` and ``from_value``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._base import KeyrollBase
from ._client import KeyrollClient, Response
from ._duration import Duration
from ._engine import AutoRotate
from ._errors import KeyrollClientError
from ._events import DeprecatedEvent, RotatedEvent, RotationHow
from ._hint import hint_of
from ._sources import EnvSource, FileSource, KeyList, KeySource, ValueSource, from_env, from_file, from_value, to_keys
from ._timers import SystemTimers, Timers

if TYPE_CHECKING:
    from ._httpx import KeyrollAuth

__all__ = [
    "AutoRotate",
    "DeprecatedEvent",
    "Duration",
    "EnvSource",
    "FileSource",
    "KeyList",
    "KeySource",
    "KeyrollAuth",
    "KeyrollBase",
    "KeyrollClient",
    "KeyrollClientError",
    "Response",
    "RotatedEvent",
    "RotationHow",
    "SystemTimers",
    "Timers",
    "ValueSource",
    "from_env",
    "from_file",
    "from_value",
    "hint_of",
    "to_keys",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """Imports ``KeyrollAuth`` (and so ``httpx``) only when it is asked for."""
    if name == "KeyrollAuth":
        from ._httpx import KeyrollAuth

        return KeyrollAuth
    raise AttributeError(f"module 'keyroll_client' has no attribute {name!r}")
