"""Durations as keyroll accepts them: seconds, or strings like ``"90s"``, ``"15m"``, ``"24h"``, ``"30d"``."""

from __future__ import annotations

import re
from typing import Optional, Union

Duration = Union[int, float, str]
"""Seconds (a number), or a string with a unit: ``ms``, ``s``, ``m``, ``h``, ``d``, ``w``."""

_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_DURATION_RE = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$")


def to_seconds(value: Duration) -> Optional[float]:
    """Seconds of a duration, or ``None`` when it is not one (same grammar as the server and the TS SDK)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if value >= 0 else None
    text = value.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    match = _DURATION_RE.match(text)
    if not match:
        return None
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
