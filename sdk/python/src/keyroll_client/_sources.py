"""Key sources: where the client gets its keys (a file, an environment variable, a value, your own)."""

from __future__ import annotations

import errno
import os
import secrets
import threading
import time
from datetime import datetime, timezone
from typing import Callable, Mapping, Optional, Protocol, Sequence, Tuple, TypeVar, Union, runtime_checkable

from ._errors import KeyrollClientError

KeyList = Union[str, Sequence[str]]
"""What a source's ``read()`` may return: text with one key a line, or keys best first."""

T = TypeVar("T")


@runtime_checkable
class KeySource(Protocol):
    """Where the client gets its key. The first key is the one in use; more keys are fallbacks.

    Only ``read()`` is required. A source may also define, and the client then uses:

    - ``write(keys: list[str]) -> None``: persists keys (best first) before the client switches to
      them; without it a rotated or claimed key lives in memory only.
    - ``exclusive(fn: Callable[[], T]) -> T``: runs ``fn`` while no other process sharing the
      source runs its own (e.g. a lock file), so only one process claims a successor.
    - ``changed() -> bool``: called before each request; ``True`` when the keys may have changed,
      so the client re-reads them.
    - ``close() -> None``: releases what the source holds.
    """

    def read(self) -> KeyList:
        """The current keys, best first (or text with one key a line)."""


def to_keys(value: KeyList) -> list[str]:
    """Normalises what a source returned: one key a line, blank lines and ``#`` comments dropped, no duplicates."""
    lines = value.splitlines() if isinstance(value, str) else list(value)
    keys: list[str] = []
    for line in lines:
        key = line.strip()
        if key and not key.startswith("#") and key not in keys:
            keys.append(key)
    return keys


class ValueSource:
    """A fixed key (or several, best first). Keys the client rotates or claims live in memory only."""

    def __init__(self, keys: KeyList) -> None:
        self._keys = keys

    def read(self) -> KeyList:
        return self._keys


class EnvSource:
    """The key in an environment variable (several keys separated by newlines), read at every look-up."""

    def __init__(self, name: str, env: Optional[Mapping[str, str]] = None) -> None:
        self._name = name
        self._env = env

    def read(self) -> KeyList:
        env = os.environ if self._env is None else self._env
        return env.get(self._name, "")


class FileSource:
    """Keys in a file, one a line, the first in use.

    - Re-read on change: before a request, at most every ``poll_interval`` seconds (0: every request),
      the client compares the file's ``stat`` (inode, size, mtime; symlinks followed, so a Kubernetes
      ``..data`` swap is seen). A deprecated or refused key also makes it re-read the file.
    - Written atomically: a temporary file next to it (mode 0600), flushed, renamed over it.
    - Shared between processes through the lock file ``<path>.lock`` (created with ``O_EXCL``,
      holding ``"<pid> <ISO time>"``): the same protocol as the TypeScript SDK's ``fromFile``, so
      Python and Node.js processes sharing one file take turns. A lock older than ``lock_stale``
      seconds is taken to be left by a crash and is broken; waiting longer than ``lock_wait``
      raises ``LOCK_TIMEOUT``.
    """

    def __init__(
        self, path: Union[str, os.PathLike[str]], *, poll_interval: float = 1.0, lock_stale: float = 30.0,
        lock_wait: float = 60.0,
    ) -> None:
        self.path = os.fspath(path)
        self.poll_interval = poll_interval
        self.lock_stale = lock_stale
        self.lock_wait = lock_wait
        self._last_stat: Optional[Tuple[int, int, int, int]] = None
        self._checked_at = float("-inf")
        self._stat_lock = threading.Lock()

    def read(self) -> KeyList:
        try:
            with open(self.path, encoding="utf-8") as f:
                return f.read()
        except FileNotFoundError:
            # Between the unlink and the link of a symlink swap the file may briefly not exist.
            return ""

    def write(self, keys: Sequence[str]) -> None:
        write_file_atomic(self.path, "".join(f"{k}\n" for k in keys))

    def exclusive(self, fn: Callable[[], T]) -> T:
        return with_file_lock(f"{self.path}.lock", fn, stale=self.lock_stale, wait=self.lock_wait)

    def changed(self) -> bool:
        now = time.monotonic()
        with self._stat_lock:
            if now - self._checked_at < self.poll_interval:
                return False
            self._checked_at = now
            try:
                st = os.stat(self.path)
                current: Optional[Tuple[int, int, int, int]] = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
            except OSError:
                current = None
            changed = self._last_stat is not None and current is not None and current != self._last_stat
            if current is not None:
                self._last_stat = current
            return changed


def from_file(
    path: Union[str, os.PathLike[str]], *, poll_interval: float = 1.0, lock_stale: float = 30.0,
    lock_wait: float = 60.0,
) -> FileSource:
    """Keys in a file (see :class:`FileSource`)."""
    return FileSource(path, poll_interval=poll_interval, lock_stale=lock_stale, lock_wait=lock_wait)


def from_env(name: str, env: Optional[Mapping[str, str]] = None) -> EnvSource:
    """The key in the environment variable ``name`` (of ``env``, default ``os.environ``), read at every look-up."""
    return EnvSource(name, env)


def from_value(keys: KeyList) -> ValueSource:
    """A fixed key, or several best first."""
    return ValueSource(keys)


def write_file_atomic(path: str, text: str) -> None:
    """Replaces ``path`` with ``text`` atomically: a 0600 temporary file next to it, flushed, renamed over it."""
    directory, name = os.path.split(os.path.abspath(path))
    temp = os.path.join(directory, f".{name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise


def with_file_lock(lock_path: str, fn: Callable[[], T], *, stale: float, wait: float, retry: float = 0.025) -> T:
    """Runs ``fn`` holding the lock file ``lock_path`` (``O_EXCL``; the TypeScript SDK's protocol)."""
    start = time.monotonic()
    while True:
        try:
            fd = os.open(lock_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                stamp = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
                f.write(f"{os.getpid()} {stamp}\n")
            break
        try:
            age: Optional[float] = time.time() - os.stat(lock_path).st_mtime
        except FileNotFoundError:
            age = None
        if age is not None and age > stale:
            _unlink_quietly(lock_path)
            continue
        if time.monotonic() - start > wait:
            raise KeyrollClientError("LOCK_TIMEOUT", f"the lock {lock_path} was held for longer than {wait} s")
        time.sleep(retry)
    try:
        return fn()
    finally:
        _unlink_quietly(lock_path)


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError as e:
        if e.errno != errno.ENOENT:
            raise
