"""Waiting on things that happen in other threads or processes, without assuming how long they take.

A loaded machine can make anything slow, so tests wait for a condition and assert behaviour; the
only time here is a guard against a hung test, far longer than any run needs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

GUARD_SECONDS = 300.0  # against hanging only: never an assertion about speed


class _Polling:
    """One wait: check() polled until it holds or the guard runs out; nudge() first, then every
    `every` seconds while waiting."""

    def __init__(self, check, nudge, every: float, guard: float):
        self.check, self.nudge, self.every = check, nudge, every
        self.deadline, self.next_nudge = time.monotonic() + guard, time.monotonic()

    def outcome(self) -> bool | None:
        """True: it holds; False: the guard ran out; None: not yet, poll again after a pause."""
        if self.nudge is not None and time.monotonic() >= self.next_nudge:
            self.nudge()
            self.next_nudge = time.monotonic() + self.every
        if self.check():
            return True
        return False if time.monotonic() >= self.deadline else None


def eventually(check: Callable[[], bool], nudge: Callable[[], None] | None = None, every: float = 2.0,
               guard: float = GUARD_SECONDS) -> bool:
    """Poll check() until it holds (True) or the guard runs out (False). nudge(), when given, is
    called at first and then every `every` seconds while waiting: e.g. saving a file again until
    a watcher that may not be listening yet has seen it."""
    polling = _Polling(check, nudge, every, guard)
    while (held := polling.outcome()) is None:
        time.sleep(0.05)
    return held


async def eventually_async(check: Callable[[], bool], nudge: Callable[[], None] | None = None, every: float = 2.0,
                           guard: float = GUARD_SECONDS) -> bool:
    """eventually() for a coroutine: waits with asyncio.sleep, so the event loop keeps running."""
    polling = _Polling(check, nudge, every, guard)
    while (held := polling.outcome()) is None:
        await asyncio.sleep(0.05)
    return held
