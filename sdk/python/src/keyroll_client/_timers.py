"""Clock and timers, injected so tests move time by hand instead of sleeping."""

from __future__ import annotations

import random
import threading
import time
from typing import Callable, Protocol


class Timers(Protocol):
    """What the SDK needs of time: a clock, delayed calls and randomness (for jitter)."""

    def now(self) -> float:
        """Seconds since the epoch."""

    def schedule(self, fn: Callable[[], None], delay: float) -> Callable[[], None]:
        """Runs ``fn`` after ``delay`` seconds (in another thread); returns a function that cancels it."""

    def random(self) -> float:
        """A number in [0, 1)."""


class SystemTimers:
    """The real clock; delayed calls run on daemon threads, so they never keep a process alive."""

    def now(self) -> float:
        return time.time()

    def schedule(self, fn: Callable[[], None], delay: float) -> Callable[[], None]:
        timer = threading.Timer(max(0.0, delay), fn)
        timer.daemon = True
        timer.start()
        return timer.cancel

    def random(self) -> float:
        return random.random()
