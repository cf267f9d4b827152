"""The proof: Python client processes in continuous traffic through the gateway while an operator
rotates (file swap), a client self-rotates (its sibling sharing the file follows) and a policy
rotation is claimed by one of two processes sharing a file: no request fails."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Dict, List

from keyroll_server import KeyrollServer
from support import until

WORKER = Path(__file__).resolve().parent / "traffic_worker.py"


class Worker:
    """A consumer process and what it reported."""

    def __init__(self, label: str, kind: str, keyroll: KeyrollServer, key_file: Path) -> None:
        self.label = label
        self.messages: List[Dict[str, Any]] = []
        self.sent = 0
        self.process = subprocess.Popen(
            [sys.executable, str(WORKER), kind, keyroll.gateway_url, keyroll.api_url, str(key_file)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
        self.done = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                message = {"type": "output", "line": line.rstrip()}
            self.messages.append(message)
            if message.get("type") in ("progress", "final"):
                self.sent = int(message["sent"])
        self.done.set()

    def of(self, kind: str) -> List[Dict[str, Any]]:
        return [m for m in list(self.messages) if m.get("type") == kind]

    def command(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def stop(self) -> Dict[str, Any]:
        self.command("stop")
        self.process.wait(30)
        self.done.wait(10)
        finals = self.of("final")
        assert finals, f"{self.label} ended without a final report: {self.messages}"
        return finals[0]


def key_file(directory: Path, name: str, key: str) -> Path:
    path = directory / f"{name}.key"
    path.write_text(f"{key}\n")
    os.chmod(path, 0o600)
    return path


def test_zero_failed_requests_while_every_kind_of_rotation_happens(keyroll: KeyrollServer, key_dir: Path) -> None:
    operator = keyroll.consumer_with_key()
    selfish = keyroll.consumer_with_key()
    policy = keyroll.consumer_with_key()
    files = {
        "operator": key_file(key_dir, "operator", operator["key"]),
        "self": key_file(key_dir, "self", selfish["key"]),
        "policy": key_file(key_dir, "policy", policy["key"]),
    }
    workers = {
        "operator": Worker("operator", "httpx", keyroll, files["operator"]),
        "self-a": Worker("self-a", "stdlib", keyroll, files["self"]),
        "self-b": Worker("self-b", "requests", keyroll, files["self"]),
        "policy-a": Worker("policy-a", "httpx", keyroll, files["policy"]),
        "policy-b": Worker("policy-b", "httpx-async", keyroll, files["policy"]),
    }
    try:
        until(lambda: all(w.sent >= 20 for w in workers.values()), "traffic from every process", 30)

        # Case 1: the operator rotates over the admin API and swaps the file.
        op = keyroll.admin("POST", f"/v1/keys/{operator['key_id']}/rotate", {"gracePeriod": "1h"}, 201)
        aside = files["operator"].with_name("operator.key.new")
        aside.write_text(f"{op['key']}\n")
        os.replace(aside, files["operator"])
        # Case 2: a client rolls its own key; its sibling shares the file.
        workers["self-a"].command("rotate 1h")
        # Case 3: a rotation policy starts a server-side rotation; one of two processes claims it.
        keyroll.admin("PUT", f"/v1/rotation-policies/{policy['consumer_id']}", {"every": "1s", "gracePeriod": "1h"})
        try:
            until(lambda: all(w.of("rotated") for w in workers.values()), "every process to switch keys", 30)
        finally:
            keyroll.admin("DELETE", f"/v1/rotation-policies/{policy['consumer_id']}", None, 204)

        # Retire every old key under traffic: the clients are on their new keys already.
        marks = {name: w.sent for name, w in workers.items()}
        rotations = keyroll.admin("GET", "/v1/rotations?state=rolling&limit=100")["data"]
        for rotation in rotations:
            keyroll.admin("POST", f"/v1/rotations/{rotation['id']}/complete", {}, 200)
        until(lambda: all(w.sent >= marks[n] + 20 for n, w in workers.items()), "traffic after retirement", 30)
    finally:
        finals = {name: w.stop() for name, w in workers.items()}

    report = {n: (f["sent"], f["failed"]) for n, f in finals.items()}
    print(f"requests sent, failed per process: {report}")
    assert all(f["sent"] > 40 for f in finals.values()), report
    assert sum(f["failed"] for f in finals.values()) == 0, {n: f["failures"] for n, f in finals.items()}
    first_how = {name: w.of("rotated")[0]["how"] for name, w in workers.items()}
    assert first_how["operator"] == "source"
    assert first_how["self-a"] == "self-rotate" and first_how["self-b"] == "source"
    assert sorted([first_how["policy-a"], first_how["policy-b"]]) == ["claimed", "source"]
    errors = [m for w in workers.values() for m in w.of("error")]
    assert errors == []
    audit = keyroll.admin("GET", "/v1/audit?limit=100&action=successor.reclaim_attempted")["data"]
    assert [e for e in audit if e["action"] == "successor.reclaim_attempted"] == []
    for c in (operator, selfish, policy):
        assert keyroll.key_status(c["key_id"]) == "retired"
    assert not any(h.saw_key for h in keyroll.upstream.hits)
