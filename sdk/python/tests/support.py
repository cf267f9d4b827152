"""Helpers of the tests: event waits (never sleeps to move time) and a hand-driven clock."""

from __future__ import annotations

import threading
from typing import Any, Callable, List, Tuple

from keyroll_client import KeyrollBase


class Recorder:
    """Records the events of a client; ``wait_for`` blocks until a matching one arrived."""

    def __init__(self, client: KeyrollBase) -> None:
        self.events: List[Tuple[str, Any]] = []
        self._cond = threading.Condition()
        for name in ("deprecated", "rotated", "error"):
            client.on(name, self._recorder(name))  # type: ignore[call-overload]

    def _recorder(self, name: str) -> Callable[[Any], None]:
        def record(payload: Any) -> None:
            with self._cond:
                self.events.append((name, payload))
                self._cond.notify_all()

        return record

    def of(self, name: str) -> List[Any]:
        with self._cond:
            return [p for n, p in self.events if n == name]

    def wait_for(self, name: str, predicate: Callable[[Any], bool] = lambda _: True, timeout: float = 15.0) -> Any:
        with self._cond:
            found: List[Any] = []

            def match() -> bool:
                found[:] = [p for n, p in self.events if n == name and predicate(p)]
                return bool(found)

            if not self._cond.wait_for(match, timeout):
                raise AssertionError(f"no {name} event within {timeout} s; got {self.events}")
            return found[0]


def until(check: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    """Waits (on a condition, polling at most every 20 ms) until ``check()`` holds."""
    event = threading.Event()
    deadline = timeout / 0.02
    for _ in range(int(deadline)):
        if check():
            return
        event.wait(0.02)
    raise AssertionError(f"timed out waiting for {what}")


class ManualTimers:
    """A clock that moves only when told; scheduled calls run inside :meth:`advance`."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:
        self.t = start
        self._tasks: List[Tuple[float, int, Callable[[], None]]] = []
        self._seq = 0
        self._lock = threading.Lock()

    def now(self) -> float:
        return self.t

    def random(self) -> float:
        return 0.0

    def schedule(self, fn: Callable[[], None], delay: float) -> Callable[[], None]:
        with self._lock:
            self._seq += 1
            task = (self.t + max(0.0, delay), self._seq, fn)
            self._tasks.append(task)

        def cancel() -> None:
            with self._lock:
                if task in self._tasks:
                    self._tasks.remove(task)

        return cancel

    def advance(self, seconds: float) -> None:
        target = self.t + seconds
        while True:
            with self._lock:
                due = sorted(t for t in self._tasks if t[0] <= target)
                if not due:
                    break
                task = due[0]
                self._tasks.remove(task)
            self.t = max(self.t, task[0])
            task[2]()
        self.t = target
