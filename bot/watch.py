"""Re-index when files in the docs folders change (watchfiles), in bursts, not per save."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar
from pathlib import Path

import watchfiles

from index.documents import is_ignored_name
from index.errors import CitebotError
from index.indexer import IndexReport

log = logging.getLogger(__name__)
T = TypeVar("T")

# Saves closer together than STEP_MS join one burst; a burst is cut at DEBOUNCE_MS at the latest.
DEBOUNCE_MS = 1600
STEP_MS = 300


def relevant_change(change: watchfiles.Change, path: str) -> bool:
    """Editor temp files and hidden files are not documents (the indexer skips them too)."""
    return not any(is_ignored_name(part) for part in Path(path).parts[-1:])


def affected(services: Sequence, changes) -> list:
    """The services (collections) with a docs folder holding a changed path: a folder two
    collections share re-indexes both."""
    paths = [Path(path).resolve() for _, path in changes]
    return [s for s in services
            if any(path.is_relative_to(Path(folder).resolve()) for folder in s.settings.docs for path in paths)]


def watch_and_reindex(services: Sequence, on_report: Callable[[IndexReport], None],
                      on_error: Callable[[CitebotError], None] | None = None, stop_event=None) -> None:
    """Block, re-indexing each collection a burst of changes touched, until stop_event is set (or Ctrl-C)."""
    folders = sorted({folder for s in services for folder in s.settings.docs})
    for changes in watchfiles.watch(*folders, watch_filter=relevant_change, debounce=DEBOUNCE_MS,
                                    step=STEP_MS, stop_event=stop_event, raise_interrupt=False):
        for service in affected(services, changes):
            try:
                on_report(service.reindex())
            except CitebotError as err:
                if on_error is None:
                    raise
                on_error(err)
            except Exception as err:  # a bug must not end watching: the next change is tried again
                log.exception("re-index after a change failed")
                if on_error is not None:
                    on_error(CitebotError(f"re-index failed ({type(err).__name__}: {err}); still watching"))


async def off_loop_abandonable(work: Callable[[], T]) -> T:
    """work() in a daemon thread, awaited without blocking the event loop. Unlike
    asyncio.to_thread, a re-index still running when the bot stops does not hold the process:
    it is abandoned at exit, its unfinished generation folder never becomes current, and the
    next run removes it."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future = loop.create_future()

    def settle(setter, value) -> None:
        if not done.done():
            setter(value)

    def run() -> None:
        try:
            result = work()
        except BaseException as err:  # handed to the awaiting task, whatever it is
            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits any more
                loop.call_soon_threadsafe(settle, done.set_exception, err)
        else:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(settle, done.set_result, result)

    threading.Thread(target=run, daemon=True, name="citebot-reindex").start()
    return await done


async def watch_in_background(service, stop_event: asyncio.Event | None = None) -> None:
    """The bot's watcher: re-indexes in a worker thread; answers keep coming from the old index."""
    async for changes in watchfiles.awatch(*service.settings.docs, watch_filter=relevant_change,
                                           debounce=DEBOUNCE_MS, step=STEP_MS, stop_event=stop_event):
        try:
            report = await off_loop_abandonable(service.reindex)
        except CitebotError as err:
            log.error("re-index after %d change(s) failed: %s", len(changes), err)
            continue
        except Exception:  # a bug must not end watching for good: the next change is tried again
            log.exception("re-index after %d change(s) failed; still watching", len(changes))
            continue
        log.info("re-indexed after %d change(s): added %d, changed %d, removed %d, embedded %d passages",
                 len(changes), len(report.added), len(report.changed), len(report.removed), report.embedded)
