"""``KeyrollRequestsAuth``: the ``requests`` auth (``requests.auth.AuthBase``) that follows rotations.

Example::

    import requests
    from keyroll_client.requests import KeyrollRequestsAuth

    session = requests.Session()
    session.auth = KeyrollRequestsAuth.from_file("/run/secrets/api-key", keyroll_url="https://keys.example.com")
    session.get("https://api.example.com/api/prices")
"""

from __future__ import annotations

from typing import Any, Optional

import requests
from requests.auth import AuthBase

from ._base import KeyrollBase
from ._http import recoverable_code

__all__ = ["KeyrollRequestsAuth", "is_replayable"]

_KEY_ATTR = "_keyroll_key"
_RETRY_ATTR = "_keyroll_retry"


def is_replayable(request: requests.PreparedRequest) -> bool:
    """True when the prepared body is held in memory (none, bytes, text); a generator or file is sent once."""
    return request.body is None or isinstance(request.body, (bytes, str))


class KeyrollRequestsAuth(KeyrollBase, AuthBase):
    """Authenticates ``requests`` with a key that may rotate; after a recoverable 401 it retries once."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        key = self._engine.current_key()
        self._prepare(r, key)
        r.register_hook("response", self._handle)  # type: ignore[no-untyped-call]
        return r

    def _prepare(self, r: requests.PreparedRequest, key: str) -> None:
        name, value = self._engine.header_for(key)
        r.headers[name] = value
        setattr(r, _KEY_ATTR, key)

    def _handle(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        request = response.request
        key: Optional[str] = getattr(request, _KEY_ATTR, None)
        if key is None:
            return response
        engine = self._engine
        if response.status_code != 401:
            engine.observe(key, response.headers.get("deprecation"), response.headers.get("sunset"))
            return response
        code = recoverable_code(response.headers.get("content-type"), response.content)
        if code is None:
            return response
        nxt = engine.after_rejection(key, code)
        if nxt is None or getattr(request, _RETRY_ATTR, False) or not is_replayable(request):
            return response
        retry = request.copy()
        self._prepare(retry, nxt)
        setattr(retry, _RETRY_ATTR, True)
        response.close()
        # As requests' own HTTPDigestAuth does: send the retry on the adapter that sent the first attempt.
        connection: Any = getattr(response, "connection")
        retried: requests.Response = connection.send(retry, **kwargs)
        retried.history.append(response)
        retried.request = retry
        return retried
