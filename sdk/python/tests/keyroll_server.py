"""A real keyroll for the tests: ``node packages/server/dist/cli.js serve`` on SQLite in a temporary
directory, random ports for the API and the gateway, and a loopback upstream behind the gateway."""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, List, Optional

REPO_ROOT = Path(__file__).resolve().parents[3]
CLI = REPO_ROOT / "packages" / "server" / "dist" / "cli.js"


def build_once() -> None:
    """Builds the repository with ``npx tsc -b`` (incremental), unless the caller says it is built."""
    if os.environ.get("KEYROLL_SKIP_BUILD") == "1" and CLI.exists():
        return
    subprocess.run(["npx", "tsc", "-b"], cwd=REPO_ROOT, check=True, timeout=600)


@dataclass
class Hit:
    """A request the upstream received."""

    path: str
    key_id: Optional[str]
    saw_key: bool
    body: bytes


@dataclass
class Upstream:
    """A loopback API behind the gateway: 200 ``{"ok": true}`` for everything; it notes what it saw."""

    server: ThreadingHTTPServer
    hits: List[Hit] = field(default_factory=list)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"


def start_upstream() -> Upstream:
    """Starts the upstream on a random port."""
    upstream: Upstream

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            if self.headers.get("transfer-encoding", "").lower() == "chunked":
                chunks = []
                while True:
                    size = int(self.rfile.readline().strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        break
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                body = b"".join(chunks)
            else:
                body = self.rfile.read(length) if length else b""
            upstream.hits.append(Hit(
                self.path, self.headers.get("x-keyroll-key-id"),
                "x-api-key" in self.headers or "authorization" in self.headers, body,
            ))
            payload = b'{"ok":true}'
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = _answer

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    upstream = Upstream(server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return upstream


class AdminError(Exception):
    """An admin call answered with an unexpected status."""


class KeyrollServer:
    """A keyroll node process with its gateway in front of an :class:`Upstream`."""

    def __init__(self, upstream: Upstream, extra_env: Optional[Dict[str, str]] = None) -> None:
        self.upstream = upstream
        self.data_dir = tempfile.mkdtemp(prefix="keyroll-py-")
        env = {
            **os.environ,
            "NODE_OPTIONS": "",
            "KEYROLL_DATA_DIR": self.data_dir,
            "KEYROLL_HOST": "127.0.0.1",
            "KEYROLL_PORT": "0",
            "KEYROLL_GATEWAY_PORT": "0",
            "KEYROLL_GATEWAY_CONFIG": json.dumps({"routes": [{"pathPrefix": "/api", "upstream": upstream.url}]}),
            "KEYROLL_SCHEDULER_INTERVAL_MS": "200",
            "KEYROLL_LOG_LEVEL": "warn",
            "KEYROLL_SELF_SERVICE_RATE_LIMIT": "100000",
            "KEYROLL_SELF_ROTATIONS_PER_DAY": "10000",
            **(extra_env or {}),
        }
        for name in ("KEYROLL_DATABASE_URL", "KEYROLL_REDIS_URL", "KEYROLL_CONFIG"):
            env.pop(name, None)
        self.process = subprocess.Popen(
            ["node", str(CLI), "serve"], cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self.output: List[str] = []
        self.api_url = ""
        self.gateway_url = ""
        ready = threading.Event()

        def drain() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                self.output.append(line)
                api = re.search(r"keyroll is listening on (http://\S+)", line)
                if api:
                    self.api_url = api.group(1)
                gateway = re.search(r"gateway:\s+(http://\S+)", line)
                if gateway:
                    self.gateway_url = gateway.group(1)
                    ready.set()
            ready.set()

        threading.Thread(target=drain, daemon=True).start()
        if not ready.wait(60) or not self.gateway_url:
            self.close()
            raise RuntimeError("keyroll did not start:\n" + "".join(self.output))
        self.root_key = (Path(self.data_dir) / "root-key").read_text().strip()

    def admin(self, method: str, path: str, body: Any = None, expect: Optional[int] = None) -> Any:
        """Calls the admin API with the root key; returns the parsed JSON."""
        data = None if body is None else json.dumps(body).encode()
        headers = {"authorization": f"Bearer {self.root_key}"}
        if data is not None:
            headers["content-type"] = "application/json"
        req = urllib.request.Request(self.api_url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=10) as res:
                status, text = res.status, res.read().decode()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read().decode()
        if (expect is not None and status != expect) or (expect is None and status >= 400):
            raise AdminError(f"{method} {path}: {status} {text}")
        return json.loads(text) if text else None

    def consumer_with_key(self, **key_body: Any) -> Dict[str, str]:
        """A new consumer and one key: ``{"consumer_id", "key", "key_id"}``."""
        consumer = self.admin("POST", "/v1/consumers", {"name": f"py-{os.urandom(4).hex()}"}, 201)
        key = self.admin("POST", "/v1/keys", {"consumerId": consumer["id"], **key_body}, 201)
        return {"consumer_id": consumer["id"], "key": key["key"], "key_id": key["id"]}

    def key_status(self, key_id: str) -> str:
        """The status of a key (``active``, ``deprecated``, ...)."""
        return str(self.admin("GET", f"/v1/keys/{key_id}")["status"])

    def close(self) -> None:
        """Stops the node and removes its data."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        import shutil

        shutil.rmtree(self.data_dir, ignore_errors=True)
