"""Fixtures: one real keyroll node (with gateway and upstream) per test module; the SDK from ``src``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from keyroll_server import KeyrollServer, Upstream, build_once, start_upstream  # noqa: E402


@pytest.fixture(scope="session")
def built() -> None:
    """The repository built (``npx tsc -b``): the server's CLI and the TypeScript SDK's ``dist``."""
    build_once()


@pytest.fixture(scope="session")
def upstream(built: None) -> Iterator[Upstream]:
    up = start_upstream()
    yield up
    up.server.shutdown()


@pytest.fixture(scope="module")
def keyroll(upstream: Upstream) -> Iterator[KeyrollServer]:
    server = KeyrollServer(upstream)
    yield server
    server.close()


@pytest.fixture()
def key_dir(tmp_path: Path) -> Path:
    return tmp_path
