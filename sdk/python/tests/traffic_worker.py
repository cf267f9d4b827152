"""A consumer process of the proof: sends continuously through the gateway with the SDK and reports.

Usage: ``traffic_worker.py <kind> <gateway url> <keyroll url> <key file>`` where kind is ``httpx``,
``httpx-async``, ``requests`` or ``stdlib``. Prints JSON lines: ``ready``, ``rotated``, ``progress``
(every 10 requests), ``final``. Reads commands from stdin: ``rotate <grace>``, ``stop``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from pathlib import Path
from typing import Any, Callable, Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from keyroll_client import KeyrollBase, KeyrollClient  # noqa: E402

_out = threading.Lock()


def say(message: Dict[str, Any]) -> None:
    with _out:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()


def main() -> None:
    kind, gateway, keyroll_url, key_file = sys.argv[1:5]
    options: Dict[str, Any] = {"keyroll_url": keyroll_url, "claim_delay": "200ms", "poll_interval": 0.2}
    stop = threading.Event()
    counts = {"sent": 0, "failed": 0}
    failures: List[Dict[str, Any]] = []

    def record(status: int, body: str) -> None:
        counts["sent"] += 1
        if status != 200:
            counts["failed"] += 1
            failures.append({"status": status, "body": body[:300]})
        if counts["sent"] % 10 == 0:
            say({"type": "progress", **counts})

    auth: KeyrollBase
    send: Callable[[], None]
    if kind == "stdlib":
        client = KeyrollClient.from_file(key_file, base_url=gateway, **options)
        auth = client

        def send() -> None:
            res = client.get("/api/prices")
            record(res.status, res.text)
    elif kind == "requests":
        import requests

        from keyroll_client.requests import KeyrollRequestsAuth

        auth = KeyrollRequestsAuth.from_file(key_file, **options)
        session = requests.Session()
        session.auth = auth  # type: ignore[assignment]

        def send() -> None:
            res = session.post(f"{gateway}/api/orders", data=b'{"qty":1}')
            record(res.status_code, res.text)
    else:
        import httpx

        from keyroll_client import KeyrollAuth

        auth = KeyrollAuth.from_file(key_file, **options)
        if kind == "httpx":
            http = httpx.Client(base_url=gateway, auth=auth)

            def send() -> None:
                res = http.get("/api/prices")
                record(res.status_code, res.text)
        else:

            def send() -> None:
                raise AssertionError("async workers use their own loop")

    auth.on("rotated", lambda e: say({
        "type": "rotated", "how": e.how, "fromKeyId": e.from_key_id, "toKeyId": e.to_key_id,
    }))
    auth.on("error", lambda e: say({"type": "error", "code": e.code, "message": str(e)}))

    def commands() -> None:
        for line in sys.stdin:
            words = line.split()
            if words and words[0] == "rotate":
                try:
                    auth.rotate(grace_period=words[1])
                except Exception as e:  # noqa: BLE001 - reported to the test
                    say({"type": "error", "code": getattr(e, "code", "?"), "message": str(e)})
            elif words and words[0] == "stop":
                break
        stop.set()

    threading.Thread(target=commands, daemon=True).start()
    say({"type": "ready"})
    if kind == "httpx-async":
        import httpx

        async def loop() -> None:
            async with httpx.AsyncClient(base_url=gateway, auth=auth) as http:  # type: ignore[arg-type]
                while not stop.is_set():
                    res = await http.get("/api/prices")
                    record(res.status_code, res.text)

        asyncio.run(loop())
    else:
        while not stop.is_set():
            try:
                send()
            except Exception as e:  # noqa: BLE001 - a network error is a failed request too
                record(0, repr(e))
    say({"type": "final", **counts, "failures": failures[:20]})


if __name__ == "__main__":
    main()
