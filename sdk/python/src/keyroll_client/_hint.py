"""Display fragments of keys, safe to log."""

from __future__ import annotations


def hint_of(key: str) -> str:
    """The display fragment of a key (``kr_live_…a1b2``), the same form keyroll shows as ``hint``."""
    sep = key.rfind("_")
    return f"{key[:sep] if sep > 0 else ''}_…{key[-4:]}"
