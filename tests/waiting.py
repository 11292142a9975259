"""Waiting on things that happen in other threads or processes, without assuming how long they take.

A loaded machine can make anything slow, so tests wait for a condition and assert behaviour; the
only time here is a guard against a hung test, far longer than any run needs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

GUARD_SECONDS = 300.0  # against hanging only: never an assertion about speed


def eventually(check: Callable[[], bool], nudge: Callable[[], None] | None = None, every: float = 2.0,
               guard: float = GUARD_SECONDS) -> bool:
    """Poll check() until it holds (True) or the guard runs out (False). nudge(), when given, is
    called at first and then every `every` seconds while waiting: e.g. saving a file again until
    a watcher that may not be listening yet has seen it."""
    deadline = time.monotonic() + guard
    next_nudge = time.monotonic()
    while time.monotonic() < deadline:
        if nudge is not None and time.monotonic() >= next_nudge:
            nudge()
            next_nudge = time.monotonic() + every
        if check():
            return True
        time.sleep(0.05)
    return check()


async def eventually_async(check: Callable[[], bool], nudge: Callable[[], None] | None = None, every: float = 2.0,
                           guard: float = GUARD_SECONDS) -> bool:
    """eventually() for a coroutine: waits with asyncio.sleep, so the event loop keeps running."""
    deadline = time.monotonic() + guard
    next_nudge = time.monotonic()
    while time.monotonic() < deadline:
        if nudge is not None and time.monotonic() >= next_nudge:
            nudge()
            next_nudge = time.monotonic() + every
        if check():
            return True
        await asyncio.sleep(0.05)
    return check()
