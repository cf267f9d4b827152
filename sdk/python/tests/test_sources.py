"""Key sources, the file lock (shared with the TypeScript SDK's lock) and atomic writes."""

from __future__ import annotations

import os
import stat
import subprocess
import time
from pathlib import Path

import pytest
from keyroll_server import REPO_ROOT

from keyroll_client import KeyrollClientError, from_env, from_file, from_value, hint_of, to_keys
from keyroll_client._duration import to_seconds

TS_LOCK = REPO_ROOT / "packages" / "client" / "dist" / "file-lock.js"

# A Node.js process using the TypeScript SDK's own lock: `hold` takes it until stdin closes;
# `try` tries once without waiting and prints what happened.
NODE_LOCK = """
import { withFileLock } from %s;
const [mode, lockPath] = process.argv.slice(1);
try {
  await withFileLock(lockPath, async () => {
    console.log('locked');
    if (mode === 'hold') await new Promise((resolve) => process.stdin.on('end', resolve).resume());
  }, { staleMs: 30000, waitMs: 0 });
  console.log('released');
} catch (e) { console.log(e.code); }
"""


def node_lock(mode: str, lock_path: Path) -> subprocess.Popen[str]:
    script = NODE_LOCK % repr(TS_LOCK.as_uri())
    return subprocess.Popen(
        ["node", "--input-type=module", "-e", script, mode, str(lock_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env={**os.environ, "NODE_OPTIONS": ""},
    )


def test_to_keys_drops_blanks_comments_and_duplicates() -> None:
    assert to_keys("a\n\n# old\n b \na\r\n") == ["a", "b"]
    assert to_keys(["x", " y ", "x"]) == ["x", "y"]


def test_env_and_value_sources() -> None:
    assert from_env("API_KEY", {"API_KEY": "k1\nk2"}).read() == "k1\nk2"
    assert from_env("MISSING", {}).read() == ""
    assert from_value(["a", "b"]).read() == ["a", "b"]


def test_durations_and_hints() -> None:
    assert to_seconds("90s") == 90 and to_seconds("15m") == 900 and to_seconds(2) == 2
    assert to_seconds("1h") == 3600 and to_seconds("250ms") == 0.25 and to_seconds("soon") is None
    assert hint_of("kr_live_abcdefgh1234") == "kr_live_…1234"


def test_file_source_writes_atomically_with_mode_0600_and_notices_a_swap(tmp_path: Path) -> None:
    path = tmp_path / "api-key"
    source = from_file(path, poll_interval=0)
    assert source.read() == ""  # a missing file (mid-swap) reads as no key
    source.write(["new", "old"])
    assert path.read_text() == "new\nold\n" and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["api-key"]  # no temporary file left behind
    assert source.changed() is False
    aside = tmp_path / "aside"
    aside.write_text("newer\n")
    os.replace(aside, path)
    assert source.changed() is True and source.changed() is False


def test_the_lock_is_the_typescript_sdks_lock(tmp_path: Path, built: None) -> None:
    assert TS_LOCK.exists(), "packages/client is built by the suite's build step"
    path = tmp_path / "api-key"
    path.write_text("k\n")
    lock = Path(f"{path}.lock")
    source = from_file(path, lock_wait=0)

    # Node.js holds it: Python cannot take it; once Node.js let go, Python can.
    holder = node_lock("hold", lock)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    with pytest.raises(KeyrollClientError) as raised:
        source.exclusive(lambda: None)
    assert raised.value.code == "LOCK_TIMEOUT"
    assert holder.communicate("", timeout=30)[0].strip() == "released"
    assert source.exclusive(lambda: "ran") == "ran"

    # Python holds it: Node.js cannot take it.
    def while_held() -> str:
        assert lock.read_text().split()[0] == str(os.getpid())
        return node_lock("try", lock).communicate("", timeout=30)[0].strip()

    assert source.exclusive(while_held) == "LOCK_TIMEOUT"
    assert not lock.exists()


def test_a_stale_lock_left_by_a_crash_is_broken(tmp_path: Path) -> None:
    path = tmp_path / "api-key"
    lock = Path(f"{path}.lock")
    lock.write_text("4242 2020-01-01T00:00:00.000Z\n")
    old = time.time() - 60
    os.utime(lock, (old, old))
    assert from_file(path, lock_stale=30, lock_wait=0).exclusive(lambda: "ran") == "ran"
    assert not lock.exists()
