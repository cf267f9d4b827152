"""The standard-library client against a real keyroll and its gateway: the semantics of the TS SDK."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Iterator, List
from urllib.error import URLError

import pytest
from keyroll_server import KeyrollServer
from support import Recorder, until

from keyroll_client import KeyrollClient, KeyrollClientError, from_value


def key_file(directory: Path, *keys: str) -> Path:
    path = directory / "api-key"
    path.write_text("".join(f"{k}\n" for k in keys))
    os.chmod(path, 0o600)
    return path


def swap(path: Path, *keys: str) -> None:
    """Replaces the file as an operator's tooling would: write aside, rename over it."""
    aside = path.with_name(path.name + ".operator")
    aside.write_text("".join(f"{k}\n" for k in keys))
    os.replace(aside, path)


def test_rotate_writes_the_new_key_first_then_switches(keyroll: KeyrollServer, key_dir: Path) -> None:
    c = keyroll.consumer_with_key()
    path = key_file(key_dir, c["key"])
    client = KeyrollClient.from_file(path, base_url=keyroll.gateway_url, keyroll_url=keyroll.api_url)
    events = Recorder(client)
    assert client.get("/api/prices").status == 200

    event = client.rotate(grace_period="1h")

    new_key, old_key = path.read_text().split()
    assert old_key == c["key"] and new_key.startswith("kr_live_") and new_key != old_key
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert event.how == "self-rotate" and event.from_key_id == c["key_id"] and event.to_key_id
    assert events.of("rotated") == [event]
    assert keyroll.key_status(c["key_id"]) == "deprecated"
    res = client.get("/api/prices")
    assert res.status == 200 and res.headers.get("deprecation") is None
    assert keyroll.upstream.hits[-1].key_id == event.to_key_id
    assert not any(h.saw_key for h in keyroll.upstream.hits)
    client.close()


def test_operator_rotation_and_file_swap_is_picked_up(keyroll: KeyrollServer, key_dir: Path) -> None:
    c = keyroll.consumer_with_key()
    path = key_file(key_dir, c["key"])
    client = KeyrollClient.from_file(path, base_url=keyroll.gateway_url, keyroll_url=keyroll.api_url)
    events = Recorder(client)
    assert client.get("/api/a").status == 200
    rotation = keyroll.admin("POST", f"/v1/keys/{c['key_id']}/rotate", {"gracePeriod": "1h"}, 201)

    # The old key still works and is answered with Deprecation/Sunset: one deprecated event for it.
    for _ in range(3):
        assert client.get("/api/a").status == 200
    deprecated = events.wait_for("deprecated")
    assert deprecated.key_id == c["key_id"] and deprecated.retires_at is not None
    swap(path, rotation["key"])
    rotated = events.wait_for("rotated")
    assert rotated.how == "source" and rotated.from_hint.endswith(c["key"][-4:])
    assert client.get("/api/a").status == 200
    assert keyroll.upstream.hits[-1].key_id == rotation["newKeyId"]
    assert len(events.of("deprecated")) == 1
    client.close()


def test_a_retired_key_is_replaced_from_the_source_and_the_request_retried_once(
    keyroll: KeyrollServer, key_dir: Path,
) -> None:
    c = keyroll.consumer_with_key()
    path = key_file(key_dir, c["key"])
    client = KeyrollClient.from_file(path, base_url=keyroll.gateway_url, poll_interval=3600)
    events = Recorder(client)
    assert client.get("/api/a").status == 200
    rotation = keyroll.admin("POST", f"/v1/keys/{c['key_id']}/rotate", {"gracePeriod": "1h"}, 201)
    keyroll.admin("POST", f"/v1/rotations/{rotation['rotation']['id']}/complete", {}, 200)
    swap(path, rotation["key"])
    hits = len(keyroll.upstream.hits)

    res = client.post("/api/orders", body=b'{"qty":1}', headers={"content-type": "application/json"})

    assert res.status == 200
    assert [e.how for e in events.of("rotated")] == ["source"]
    assert len(keyroll.upstream.hits) == hits + 1 and keyroll.upstream.hits[-1].body == b'{"qty":1}'
    client.close()


def test_a_stream_body_is_sent_once_and_the_refusal_returned(keyroll: KeyrollServer, key_dir: Path) -> None:
    c = keyroll.consumer_with_key()
    path = key_file(key_dir, c["key"])
    client = KeyrollClient.from_file(path, base_url=keyroll.gateway_url, poll_interval=3600)
    assert client.get("/api/a").status == 200
    rotation = keyroll.admin("POST", f"/v1/keys/{c['key_id']}/rotate", {"gracePeriod": 0}, 201)
    swap(path, rotation["key"])
    pulled: List[bytes] = []

    def body() -> Iterator[bytes]:
        for part in (b"a", b"b"):
            pulled.append(part)
            yield part

    hits = len(keyroll.upstream.hits)
    try:
        res = client.post("/api/upload", body=body())
        problem = res.json()
        assert res.status == 401 and "REVOKED" in (problem.get("code"), problem.get("verifyCode"))
    except URLError:
        pass  # the gateway may refuse and close before the stream is through: a network error, as without the SDK
    # Never sent again: a retry (its body consumed) would have reached the upstream with the new key.
    assert len(keyroll.upstream.hits) == hits
    assert 1 <= len(pulled) <= 2
    assert client.post("/api/upload", body=b"ab").status == 200  # the next request uses the new key
    client.close()


def test_a_refusal_that_no_other_key_can_fix_is_returned_as_is(keyroll: KeyrollServer) -> None:
    c = keyroll.consumer_with_key()
    keyroll.admin("POST", f"/v1/keys/{c['key_id']}/revoke", {}, 200)
    client = KeyrollClient.from_value(c["key"], base_url=keyroll.gateway_url)
    hits = len(keyroll.upstream.hits)
    assert client.get("/api/a").status == 401
    assert len(keyroll.upstream.hits) == hits


def test_bearer_header(keyroll: KeyrollServer) -> None:
    c = keyroll.consumer_with_key()
    client = KeyrollClient.from_value(c["key"], base_url=keyroll.gateway_url, header="authorization")
    assert client.get("/api/a").status == 200
    assert keyroll.upstream.hits[-1].key_id == c["key_id"]


def test_a_policy_rotation_is_claimed_by_one_of_two_processes_sharing_the_file(
    keyroll: KeyrollServer, key_dir: Path,
) -> None:
    c = keyroll.consumer_with_key()
    path = key_file(key_dir, c["key"])
    options = dict(base_url=keyroll.gateway_url, keyroll_url=keyroll.api_url, claim_delay=0)
    a = KeyrollClient.from_file(path, **options)
    b = KeyrollClient.from_file(path, **options)
    ea, eb = Recorder(a), Recorder(b)
    keyroll.admin("PUT", f"/v1/rotation-policies/{c['consumer_id']}", {"every": "1s", "gracePeriod": "1h"}, 200)
    try:
        until(lambda: a.get("/api/a").status == 200 and b.get("/api/a").status == 200 and bool(
            ea.of("rotated") and eb.of("rotated")), "both clients to switch", 20)
    finally:
        keyroll.admin("DELETE", f"/v1/rotation-policies/{c['consumer_id']}", None, 204)
    hows = sorted(e.of("rotated")[0].how for e in (ea, eb))
    assert hows == ["claimed", "source"]
    assert path.read_text().split()[1] == c["key"]
    audit = keyroll.admin("GET", "/v1/audit?limit=100&action=successor.reclaim_attempted")
    assert [e for e in audit["data"] if e["action"] == "successor.reclaim_attempted"] == []
    assert a.get("/api/a").status == 200 and keyroll.upstream.hits[-1].key_id != c["key_id"]
    a.close()
    b.close()


def test_a_source_that_cannot_be_written_keeps_the_new_key_in_memory_and_says_so(keyroll: KeyrollServer) -> None:
    c = keyroll.consumer_with_key()

    class ReadOnly:
        def read(self) -> str:
            return c["key"]

        def write(self, keys: List[str]) -> None:
            raise OSError("read-only volume")

    client = KeyrollClient(ReadOnly(), base_url=keyroll.gateway_url, keyroll_url=keyroll.api_url)
    with pytest.raises(KeyrollClientError) as raised:
        client.rotate(grace_period="1h")
    assert raised.value.code == "SOURCE_WRITE_FAILED"
    assert client.key_hint is not None and not client.key_hint.endswith(c["key"][-4:])
    assert client.get("/api/a").status == 200 and keyroll.upstream.hits[-1].key_id != c["key_id"]


def test_errors_name_their_code() -> None:
    client = KeyrollClient(from_value(""), base_url="http://127.0.0.1:9")
    with pytest.raises(KeyrollClientError) as no_key:
        client.get("/x")
    assert no_key.value.code == "NO_KEY"
    with pytest.raises(KeyrollClientError) as no_url:
        KeyrollClient.from_value("kr_live_x", base_url="http://127.0.0.1:9").rotate()
    assert no_url.value.code == "NO_KEYROLL_URL"
    with pytest.raises(KeyrollClientError) as bad:
        KeyrollClient.from_value("kr_live_x", base_url="http://x", header="cookie")
    assert bad.value.code == "INVALID_OPTIONS"
