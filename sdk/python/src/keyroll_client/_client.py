"""``KeyrollClient``: an HTTP client on the standard library alone (``urllib``)."""

from __future__ import annotations

import json as jsonlib
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message
from typing import Any, Iterable, Mapping, Optional, Union

from ._base import KeyrollBase
from ._duration import Duration
from ._engine import AutoRotate
from ._http import join_url, recoverable_code
from ._sources import KeySource
from ._timers import Timers

Body = Union[None, bytes, bytearray, memoryview, str, Iterable[bytes]]
"""A request body: bytes or text (replayable), or an iterable of bytes (sent once, chunked)."""


@dataclass(frozen=True)
class Response:
    """An HTTP response, read in full."""

    status: int
    headers: Message
    body: bytes
    url: str

    @property
    def text(self) -> str:
        """The body decoded as UTF-8."""
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        """The body parsed as JSON."""
        return jsonlib.loads(self.body.decode("utf-8"))


def is_replayable(body: Body) -> bool:
    """True when a body can be sent a second time unchanged: none, bytes or text. An iterable is consumed once."""
    return body is None or isinstance(body, (bytes, bytearray, memoryview, str))


class KeyrollClient(KeyrollBase):
    """An API client whose key can change under it without a failed request; standard library only.

    HTTP errors are :class:`Response` objects like any other; a network error raises ``urllib``'s
    ``URLError``.

    Example::

        client = KeyrollClient.from_file("/run/secrets/api-key", base_url="https://api.example.com",
                                         keyroll_url="https://keys.example.com")
        prices = client.get("/api/prices?symbol=ETH").json()
    """

    def __init__(
        self,
        keys: KeySource,
        *,
        base_url: str,
        keyroll_url: Optional[str] = None,
        header: str = "x-api-key",
        claim_delay: Duration = "5s",
        auto_rotate: Optional[AutoRotate] = None,
        timers: Optional[Timers] = None,
        timeout: float = 10.0,
    ) -> None:
        super().__init__(
            keys, keyroll_url=keyroll_url, header=header, claim_delay=claim_delay, auto_rotate=auto_rotate,
            timers=timers, timeout=timeout,
        )
        self.base_url = base_url
        self.timeout = timeout

    def request(
        self, method: str, path: str, *, body: Body = None, json: Any = None,
        headers: Optional[Mapping[str, str]] = None, timeout: Optional[float] = None,
    ) -> Response:
        """Sends a request with the current key; follows rotations and retries once on a refused key.

        Only a replayable body (none, bytes, text, ``json``) is retried; an iterable body is sent once
        and a refusal of it is returned as it came.
        """
        all_headers = dict(headers or {})
        if json is not None:
            body = jsonlib.dumps(json).encode("utf-8")
            all_headers.setdefault("content-type", "application/json")
        if isinstance(body, str):
            body = body.encode("utf-8")
        engine = self._engine
        key = engine.current_key()
        res = self._send(method, path, body, all_headers, key, timeout)
        if res.status == 401:
            code = recoverable_code(res.headers.get("content-type"), res.body)
            if code is None:
                return res
            nxt = engine.after_rejection(key, code)
            if nxt is None or not is_replayable(body):
                return res
            retried = self._send(method, path, body, all_headers, nxt, timeout)
            if retried.status == 401:
                code = recoverable_code(retried.headers.get("content-type"), retried.body)
                if code is not None:
                    engine.after_rejection(nxt, code)
            else:
                engine.observe(nxt, retried.headers.get("deprecation"), retried.headers.get("sunset"))
            return retried
        engine.observe(key, res.headers.get("deprecation"), res.headers.get("sunset"))
        return res

    def get(self, path: str, **kwargs: Any) -> Response:
        """``request("GET", path, ...)``."""
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Response:
        """``request("POST", path, ...)``."""
        return self.request("POST", path, **kwargs)

    def _send(
        self, method: str, path: str, body: Body, headers: Mapping[str, str], key: str, timeout: Optional[float],
    ) -> Response:
        name, value = self._engine.header_for(key)
        sent = {k: v for k, v in headers.items() if k.lower() != name}
        sent[name] = value
        url = join_url(self.base_url, path)
        data: Any = body
        req = urllib.request.Request(url, data=data, headers=sent, method=method)
        try:
            with urllib.request.urlopen(req, timeout=timeout or self.timeout) as res:  # noqa: S310 - the user's API
                return Response(res.status, res.headers, res.read(), url)
        except urllib.error.HTTPError as e:
            try:
                return Response(e.code, e.headers, e.read(), url)
            finally:
                e.close()
