"""``KeyrollAuth``: the ``httpx.Auth`` (sync and async) that sends the current key and follows rotations."""

from __future__ import annotations

import asyncio
from typing import AsyncGenerator, Generator, Optional

import httpx

from ._base import KeyrollBase
from ._http import recoverable_code


def is_replayable(request: httpx.Request) -> bool:
    """True when the request's body is held in memory (none, bytes, text, JSON, form); a stream is sent once."""
    return isinstance(request.stream, httpx.ByteStream)


class KeyrollAuth(KeyrollBase, httpx.Auth):
    """Authenticates ``httpx`` requests with a key that may rotate; the same for ``Client`` and ``AsyncClient``.

    Example::

        auth = KeyrollAuth.from_file("/run/secrets/api-key", keyroll_url="https://keys.example.com")
        with httpx.Client(base_url="https://api.example.com", auth=auth) as http:
            http.get("/api/prices")
    """

    def _prepare(self, request: httpx.Request, key: str) -> None:
        name, value = self._engine.header_for(key)
        request.headers[name] = value

    def _rejection_code(self, response: httpx.Response) -> Optional[str]:
        return recoverable_code(response.headers.get("content-type"), response.content)

    def _observe(self, key: str, response: httpx.Response) -> None:
        self._engine.observe(key, response.headers.get("deprecation"), response.headers.get("sunset"))

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Sends the current key; after a recoverable 401, the next key once (replayable bodies only)."""
        engine = self._engine
        key = engine.current_key()
        self._prepare(request, key)
        response = yield request
        if response.status_code != 401:
            self._observe(key, response)
            return
        response.read()
        code = self._rejection_code(response)
        if code is None:
            return
        nxt = engine.after_rejection(key, code)
        if nxt is None or not is_replayable(request):
            return
        self._prepare(request, nxt)
        retried = yield request
        if retried.status_code == 401:
            retried.read()
            code = self._rejection_code(retried)
            if code is not None:
                engine.after_rejection(nxt, code)
        else:
            self._observe(nxt, retried)

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """As :meth:`sync_auth_flow`; waits that may block (reading the source under its lock) run in a thread."""
        engine = self._engine
        key = engine.current_key() if engine.loaded() else await asyncio.to_thread(engine.current_key)
        self._prepare(request, key)
        response = yield request
        if response.status_code != 401:
            self._observe(key, response)
            return
        await response.aread()
        code = self._rejection_code(response)
        if code is None:
            return
        nxt = await asyncio.to_thread(engine.after_rejection, key, code)
        if nxt is None or not is_replayable(request):
            return
        self._prepare(request, nxt)
        retried = yield request
        if retried.status_code == 401:
            await retried.aread()
            code = self._rejection_code(retried)
            if code is not None:
                await asyncio.to_thread(engine.after_rejection, nxt, code)
        else:
            self._observe(nxt, retried)
