"""keyroll's self-service calls and the reading of responses, on the standard library only."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Dict, Optional, Tuple

from ._errors import KeyrollClientError

RECOVERABLE_CODES = frozenset({"RETIRED", "REVOKED", "EXPIRED", "NOT_FOUND"})
"""Codes of a 401 after which another key from the source may succeed."""
PERMANENT_CODES = frozenset({"RETIRED", "REVOKED", "EXPIRED"})
"""Codes that will never turn valid again for the same key."""


@dataclass(frozen=True)
class IssuedKey:
    """A key handed out by keyroll's self-service (``/v1/self/rotate``, ``/v1/self/successor``)."""

    key: str
    key_id: Optional[str]
    old_key_id: Optional[str]


def join_url(base: str, path: str) -> str:
    """``base`` + ``path``, keeping a path prefix of ``base``."""
    return base.rstrip("/") + ("" if path.startswith("/") else "/") + path


def recoverable_code(content_type: Optional[str], body: bytes) -> Optional[str]:
    """The problem ``code`` (or ``verifyCode``) of a 401 body when it means another key may succeed."""
    if not content_type or not re.match(r"^application/(problem\+)?json", content_type, re.I):
        return None
    try:
        problem = json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(problem, dict):
        return None
    for field in ("code", "verifyCode"):
        value = problem.get(field)
        if isinstance(value, str) and value in RECOVERABLE_CODES:
            return value
    return None


@dataclass(frozen=True)
class DeprecationNotice:
    """What a response says about the deprecation of the key that made it."""

    retires_at: Optional[datetime]
    """When the key stops working (``Sunset``, RFC 8594), if the response says."""


def read_deprecation(deprecation: Optional[str], sunset: Optional[str]) -> Optional[DeprecationNotice]:
    """The notice when the response carries ``Deprecation`` (RFC 9745) or ``Sunset``; ``None`` otherwise."""
    if deprecation is None and sunset is None:
        return None
    retires_at: Optional[datetime] = None
    if sunset:
        try:
            retires_at = parsedate_to_datetime(sunset)
            if retires_at.tzinfo is None:
                retires_at = retires_at.replace(tzinfo=timezone.utc)
        except (TypeError, ValueError, IndexError):
            retires_at = None
    return DeprecationNotice(retires_at)


def _call(
    method: str, url: str, key: str, body: Optional[Dict[str, Any]], timeout: float,
) -> Tuple[int, Dict[str, Any], str]:
    headers = {"x-api-key": key, "accept": "application/json"}
    data = None
    if body is not None:
        headers["content-type"] = "application/json"
        data = json.dumps(body).encode("utf-8")
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as res:  # noqa: S310 - keyroll's URL, set by the user
            status, text, reason = res.status, res.read().decode("utf-8", "replace"), res.reason
    except urllib.error.HTTPError as e:
        status, text, reason = e.code, e.read().decode("utf-8", "replace"), str(e.reason)
    except (urllib.error.URLError, OSError) as e:
        raise KeyrollClientError("NETWORK_ERROR", f"{method} {url}: keyroll could not be reached ({e})") from e
    try:
        parsed = json.loads(text) if text else {}
    except ValueError:
        parsed = {}
    return status, parsed if isinstance(parsed, dict) else {}, reason


def post_self_service(
    keyroll_url: str, path: str, key: str, body: Optional[Dict[str, Any]], timeout: float,
) -> IssuedKey:
    """POSTs to a self-service route with ``key`` in ``x-api-key``; returns the issued key or raises keyroll's code."""
    status, json_body, reason = _call("POST", join_url(keyroll_url, path), key, body, timeout)
    if not 200 <= status < 300:
        code = json_body.get("code") if isinstance(json_body.get("code"), str) else f"HTTP_{status}"
        detail = json_body.get("detail") or reason
        raise KeyrollClientError(str(code), f"POST {path}: {status} {detail}", status)
    issued = json_body.get("key")
    if not isinstance(issued, str) or not issued:
        raise KeyrollClientError("BAD_RESPONSE", f"POST {path}: the answer holds no key", status)
    raw_rotation = json_body.get("rotation")
    rotation: Dict[str, Any] = raw_rotation if isinstance(raw_rotation, dict) else {}
    return IssuedKey(
        key=issued,
        key_id=_str(json_body.get("newKeyId")) or _str(json_body.get("id")) or _str(rotation.get("newKeyId")),
        old_key_id=_str(rotation.get("oldKeyId")) or _str(json_body.get("oldKeyId")),
    )


def get_self_key(keyroll_url: str, key: str, timeout: float) -> Tuple[Optional[str], Optional[float]]:
    """``(key id, created at in epoch seconds)`` of ``key`` from ``GET /v1/self``; ``None`` parts when not answered."""
    status, json_body, _ = _call("GET", join_url(keyroll_url, "/v1/self"), key, None, timeout)
    if not 200 <= status < 300:
        return None, None
    me = json_body.get("key")
    if not isinstance(me, dict):
        return None, None
    created: Optional[float] = None
    created_text = _str(me.get("createdAt"))
    if created_text:
        try:
            created = datetime.fromisoformat(created_text.replace("Z", "+00:00")).timestamp()
        except ValueError:
            created = None
    return _str(me.get("id")), created


def _str(value: object) -> Optional[str]:
    return value if isinstance(value, str) else None
