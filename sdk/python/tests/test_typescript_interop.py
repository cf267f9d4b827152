"""A Python client and a Node.js client (the TypeScript SDK, built) sharing one key file: when a
policy rotation starts, exactly one of them claims the successor under the shared lock and the
other reads it from the file; no request of either fails."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Dict, List

from keyroll_server import REPO_ROOT, KeyrollServer
from support import Recorder, until

from keyroll_client import KeyrollClient

TS_SDK = REPO_ROOT / "packages" / "client" / "dist" / "node.js"

NODE_CLIENT = """
import { createClient, fromFile } from %s;
const [gateway, keyrollUrl, file] = process.argv.slice(1);
const client = createClient({ baseUrl: gateway, keyrollUrl, keys: fromFile(file, { pollMs: 200 }), claimDelay: 0 });
const say = (m) => console.log(JSON.stringify(m));
client.on('rotated', (e) => say({ type: 'rotated', how: e.how }));
client.on('error', (e) => say({ type: 'error', code: e.code }));
let stop = false;
process.stdin.on('end', () => { stop = true; }).resume();
let sent = 0, failed = 0;
say({ type: 'ready' });
while (!stop) {
  const res = await client.fetch('/api/prices');
  await res.arrayBuffer();
  sent++;
  if (res.status !== 200) failed++;
}
say({ type: 'final', sent, failed });
await client.close();
"""


def test_python_and_typescript_clients_share_a_key_file_and_claim_once(keyroll: KeyrollServer, key_dir: Path) -> None:
    c = keyroll.consumer_with_key()
    path = key_dir / "api-key"
    path.write_text(f"{c['key']}\n")
    os.chmod(path, 0o600)
    node = subprocess.Popen(
        ["node", "--input-type=module", "-e", NODE_CLIENT % repr(TS_SDK.as_uri()), keyroll.gateway_url,
         keyroll.api_url, str(path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env={**os.environ, "NODE_OPTIONS": ""},
    )
    node_messages: List[Dict[str, Any]] = []

    def read_node() -> None:
        assert node.stdout is not None
        for line in node.stdout:
            node_messages.append(json.loads(line))

    reader = threading.Thread(target=read_node, daemon=True)
    reader.start()
    python = KeyrollClient.from_file(path, base_url=keyroll.gateway_url, keyroll_url=keyroll.api_url,
                                     claim_delay=0, poll_interval=0.2)
    events = Recorder(python)
    statuses: List[int] = []
    try:
        until(lambda: any(m["type"] == "ready" for m in node_messages), "the Node.js client", 20)
        keyroll.admin("PUT", f"/v1/rotation-policies/{c['consumer_id']}", {"every": "1s", "gracePeriod": "1h"}, 200)
        give_up = time.monotonic() + 30
        node_rotated = lambda: [m for m in node_messages if m["type"] == "rotated"]  # noqa: E731
        while not (events.of("rotated") and node_rotated()) and time.monotonic() < give_up:
            statuses.append(python.get("/api/prices").status)
        keyroll.admin("DELETE", f"/v1/rotation-policies/{c['consumer_id']}", None, 204)
    finally:
        assert node.stdin is not None
        node.stdin.close()
        node.wait(30)
        reader.join(10)
        python.close()
    final = next(m for m in node_messages if m["type"] == "final")
    hows = sorted([events.of("rotated")[0].how, node_rotated()[0]["how"]])
    assert hows == ["claimed", "source"], node_messages
    assert set(statuses) == {200} and final["failed"] == 0 and final["sent"] > 0
    assert [m for m in node_messages if m["type"] == "error"] == [] and events.of("error") == []
    audit = keyroll.admin("GET", "/v1/audit?limit=100&action=successor.reclaim_attempted")["data"]
    assert [e for e in audit if e["action"] == "successor.reclaim_attempted"] == []
    assert path.read_text().split()[1] == c["key"]
