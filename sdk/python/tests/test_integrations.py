"""httpx (sync and async) and requests integrations against a real keyroll and its gateway."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import AsyncIterator, Iterator, List

import httpx
import requests
from keyroll_server import KeyrollServer
from support import ManualTimers, Recorder

from keyroll_client import AutoRotate, KeyrollAuth, KeyrollClient
from keyroll_client.requests import KeyrollRequestsAuth


def write(path: Path, *keys: str) -> None:
    aside = path.with_name(path.name + ".operator")
    aside.write_text("".join(f"{k}\n" for k in keys))
    os.replace(aside, path)


def retire_and_swap(keyroll: KeyrollServer, key_id: str, path: Path) -> str:
    """Rotates ``key_id``, completes the rotation (the old key is retired) and drops the new key into ``path``."""
    rotation = keyroll.admin("POST", f"/v1/keys/{key_id}/rotate", {"gracePeriod": "1h"}, 201)
    keyroll.admin("POST", f"/v1/rotations/{rotation['rotation']['id']}/complete", {}, 200)
    write(path, rotation["key"])
    return str(rotation["newKeyId"])


def test_httpx_sync_retries_a_retired_key_once_with_the_new_one(keyroll: KeyrollServer, key_dir: Path) -> None:
    c = keyroll.consumer_with_key()
    path = key_dir / "api-key"
    write(path, c["key"])
    auth = KeyrollAuth.from_file(path, poll_interval=3600)
    events = Recorder(auth)
    with httpx.Client(base_url=keyroll.gateway_url, auth=auth) as http:
        assert http.get("/api/a").status_code == 200
        new_id = retire_and_swap(keyroll, c["key_id"], path)
        res = http.post("/api/orders", json={"qty": 2})
        assert res.status_code == 200
        assert [r.status_code for r in res.history] == [401]
        assert keyroll.upstream.hits[-1].key_id == new_id and keyroll.upstream.hits[-1].body == b'{"qty": 2}'
        assert [e.how for e in events.of("rotated")] == ["source"]


def test_httpx_sync_sends_a_generator_body_once(keyroll: KeyrollServer, key_dir: Path) -> None:
    c = keyroll.consumer_with_key()
    path = key_dir / "api-key"
    write(path, c["key"])
    auth = KeyrollAuth.from_file(path, poll_interval=3600)
    pulled: List[bytes] = []

    def body() -> Iterator[bytes]:
        for part in (b"x", b"y"):
            pulled.append(part)
            yield part

    with httpx.Client(base_url=keyroll.gateway_url, auth=auth) as http:
        assert http.get("/api/a").status_code == 200
        retire_and_swap(keyroll, c["key_id"], path)
        hits = len(keyroll.upstream.hits)
        try:
            res = http.post("/api/upload", content=body())
            assert res.status_code == 401 and res.history == []
        except httpx.TransportError:
            pass  # the gateway may refuse and close before the stream is through
        assert len(keyroll.upstream.hits) == hits  # never sent again with the new key
        assert 1 <= len(pulled) <= 2
        assert http.post("/api/upload", content=b"xy").status_code == 200


def test_httpx_async_follows_a_rotation_and_claims_nothing_without_need(
    keyroll: KeyrollServer, key_dir: Path,
) -> None:
    c = keyroll.consumer_with_key()
    path = key_dir / "api-key"
    write(path, c["key"])
    auth = KeyrollAuth.from_file(path, poll_interval=3600, keyroll_url=keyroll.api_url, header="authorization")
    events = Recorder(auth)

    async def body() -> AsyncIterator[bytes]:
        yield b"once"

    async def main() -> None:
        async with httpx.AsyncClient(base_url=keyroll.gateway_url, auth=auth) as http:
            assert (await http.get("/api/a")).status_code == 200
            new_id = retire_and_swap(keyroll, c["key_id"], path)
            res = await http.get("/api/a")
            assert res.status_code == 200 and [r.status_code for r in res.history] == [401]
            assert keyroll.upstream.hits[-1].key_id == new_id
            rotated = await asyncio.to_thread(auth.rotate, "1h")
            assert rotated.how == "self-rotate" and rotated.from_key_id == new_id
            assert (await http.post("/api/x", content=body())).status_code == 200
            assert keyroll.upstream.hits[-1].key_id == rotated.to_key_id

    asyncio.run(main())
    assert [e.how for e in events.of("rotated")] == ["source", "self-rotate"]


def test_httpx_emits_deprecated_once_per_key(keyroll: KeyrollServer) -> None:
    c = keyroll.consumer_with_key()
    auth = KeyrollAuth.from_value(c["key"], keyroll_url=keyroll.api_url, claim_delay="1h")
    events = Recorder(auth)
    keyroll.admin("POST", f"/v1/keys/{c['key_id']}/rotate", {"gracePeriod": "1h"}, 201)
    with httpx.Client(base_url=keyroll.gateway_url, auth=auth) as http:
        for _ in range(5):
            res = http.get("/api/a")
            assert res.status_code == 200 and res.headers.get("deprecation") is not None
    event = events.wait_for("deprecated")
    assert event.key_id == c["key_id"] and event.hint.endswith(c["key"][-4:]) and event.retires_at is not None
    assert len(events.of("deprecated")) == 1


def test_requests_retries_a_retired_key_once(keyroll: KeyrollServer, key_dir: Path) -> None:
    c = keyroll.consumer_with_key()
    path = key_dir / "api-key"
    write(path, c["key"])
    auth = KeyrollRequestsAuth.from_file(path, poll_interval=3600)
    events = Recorder(auth)
    with requests.Session() as session:
        session.auth = auth
        assert session.get(f"{keyroll.gateway_url}/api/a").status_code == 200
        new_id = retire_and_swap(keyroll, c["key_id"], path)
        res = session.put(f"{keyroll.gateway_url}/api/orders", data=b"qty=3")
        assert res.status_code == 200 and [r.status_code for r in res.history] == [401]
        assert keyroll.upstream.hits[-1].key_id == new_id and keyroll.upstream.hits[-1].body == b"qty=3"
        assert [e.how for e in events.of("rotated")] == ["source"]

        retire_and_swap(keyroll, new_id, path)

        def body() -> Iterator[bytes]:
            yield b"stream"

        hits = len(keyroll.upstream.hits)
        try:
            streamed = session.post(f"{keyroll.gateway_url}/api/upload", data=body())
            assert streamed.status_code == 401 and streamed.history == []
        except requests.ConnectionError:
            pass  # the gateway may refuse and close before the stream is through
        assert len(keyroll.upstream.hits) == hits  # never sent again with the new key
        assert session.get(f"{keyroll.gateway_url}/api/a").status_code == 200


def test_requests_self_rotation_and_bearer(keyroll: KeyrollServer, key_dir: Path) -> None:
    c = keyroll.consumer_with_key()
    path = key_dir / "api-key"
    write(path, c["key"])
    auth = KeyrollRequestsAuth.from_file(path, keyroll_url=keyroll.api_url, header="authorization")
    rotated = auth.rotate(grace_period="1h")
    assert rotated.how == "self-rotate" and path.read_text().split() == [path.read_text().split()[0], c["key"]]
    assert requests.get(f"{keyroll.gateway_url}/api/a", auth=auth).status_code == 200
    assert keyroll.upstream.hits[-1].key_id == rotated.to_key_id


def test_auto_rotation_fires_at_the_keys_age_on_a_hand_driven_clock(keyroll: KeyrollServer, key_dir: Path) -> None:
    c = keyroll.consumer_with_key()
    created = keyroll.admin("GET", f"/v1/keys/{c['key_id']}")["createdAt"]
    path = key_dir / "api-key"
    write(path, c["key"])
    from datetime import datetime

    timers = ManualTimers(datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp())
    client = KeyrollClient.from_file(
        path, base_url=keyroll.gateway_url, keyroll_url=keyroll.api_url, timers=timers,
        auto_rotate=AutoRotate(every="30d", jitter=0, grace_period="1h"),
    )
    events = Recorder(client)
    timers.advance(0)  # learns the key's creation from GET /v1/self
    timers.advance(29 * 86400)
    assert events.of("rotated") == []
    timers.advance(86400)
    rotated = events.wait_for("rotated")
    assert rotated.how == "self-rotate" and rotated.from_key_id == c["key_id"]
    assert keyroll.key_status(c["key_id"]) == "deprecated"
    assert path.read_text().split()[1] == c["key"]
    client.close()


def test_a_claim_whose_key_cannot_be_written_keeps_it_in_memory_and_emits_error(keyroll: KeyrollServer) -> None:
    c = keyroll.consumer_with_key()

    class ReadOnlySecret:
        """A mounted secret: readable, never writable."""

        def read(self) -> str:
            return c["key"]

        def write(self, keys: List[str]) -> None:
            raise PermissionError("read-only file system")

    auth = KeyrollAuth(ReadOnlySecret(), keyroll_url=keyroll.api_url, claim_delay=0)
    events = Recorder(auth)
    keyroll.admin("PUT", f"/v1/rotation-policies/{c['consumer_id']}", {"every": "1s", "gracePeriod": "1h"}, 200)
    statuses: List[int] = []
    try:
        with httpx.Client(base_url=keyroll.gateway_url, auth=auth) as http:
            give_up = time.monotonic() + 20
            while not events.of("error") and time.monotonic() < give_up:
                statuses.append(http.get("/api/a").status_code)
            error = events.wait_for("error", timeout=1)
            assert error.code == "SOURCE_WRITE_FAILED"
            rotated = events.wait_for("rotated", timeout=1)
            assert rotated.how == "claimed" and rotated.from_key_id == c["key_id"]
            assert http.get("/api/a").status_code == 200
            assert keyroll.upstream.hits[-1].key_id == rotated.to_key_id  # the claimed key, kept in memory
    finally:
        keyroll.admin("DELETE", f"/v1/rotation-policies/{c['consumer_id']}", None, 204)
    assert set(statuses) == {200}
    assert events.of("deprecated")[0].key_id == c["key_id"]
