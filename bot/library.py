"""Many collections, one process: which collection a place asks, and each collection's service,
opened when first asked and closed when idle. The model (and the reader) is loaded once and
shared; each collection has its own generations under index_dir/<name>/, built, swapped and
watched exactly as a single index is.

With no `collections` configured there is one collection, `default`, from `docs`, with its
index in index_dir itself and answered everywhere: existing configs keep working unchanged.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

from bot.config import Collection, Settings
from bot.service import CitebotService, Status
from index.embedding import Embedder, shared_embedder
from index.errors import ConfigError, IndexNotFound

SHORTHAND = "default"  # the one collection made from `docs`


@dataclass(frozen=True)
class Place:
    """Where a question was asked: a DM has no guild; a thread's parent channel counts as its channel."""

    guild_id: int | None
    channel_id: int | None = None
    parent_id: int | None = None


@dataclass(frozen=True)
class Routing:
    """Which collection answers in a place: a channel mapping wins over its guild's, then the
    default; direct messages get dm_collection. None: nothing is answered there."""

    channels: dict[int, str]
    guilds: dict[int, str]
    default: str | None
    dm: str | None

    @classmethod
    def of(cls, settings: Settings) -> "Routing":
        if not settings.collections:
            return cls({}, {}, SHORTHAND, SHORTHAND)
        return cls({ch: c.name for c in settings.collections for ch in c.channels},
                   {g: c.name for c in settings.collections for g in c.guilds},
                   settings.default_collection, settings.dm_collection)

    def route(self, place: Place) -> str | None:
        if place.guild_id is None:
            return self.dm
        for channel in (place.channel_id, place.parent_id):
            if channel is not None and channel in self.channels:
                return self.channels[channel]
        return self.guilds.get(place.guild_id, self.default)


@dataclass(frozen=True)
class CollectionStatus:
    name: str
    docs: tuple[str, ...]
    opened: bool
    status: Status | None  # None: not built yet


class Library:
    def __init__(self, settings: Settings, embedder: Embedder | None = None,
                 services: dict[str, CitebotService] | None = None):
        self.settings = settings
        self.collections = settings.collections or (Collection(SHORTHAND, settings.docs),)
        self.routing = Routing.of(settings)
        self.embedder = embedder or shared_embedder(settings.model, settings.device)
        self._services: dict[str, CitebotService] = dict(services or {})
        self._last_asked: dict[str, float] = {}
        self._lock = threading.Lock()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.collections)

    def route(self, place: Place) -> str | None:
        return self.routing.route(place)

    def named(self, name: str | None) -> str:
        """The collection a command line means: the one named, else the only one, else the default."""
        if name is None:
            if len(self.collections) == 1:
                return self.collections[0].name
            if self.settings.default_collection:
                return self.settings.default_collection
            raise ConfigError(f"several collections are configured ({', '.join(self.names)}); "
                              "choose one with --collection NAME")
        if name not in self.names:
            raise ConfigError(f"--collection {name}: no such collection (configured: {', '.join(self.names)})")
        return name

    def settings_for(self, name: str) -> Settings:
        collection = next(c for c in self.collections if c.name == name)
        index_dir, prefix = Path(self.settings.index_dir), self.settings.qdrant_prefix
        if self.settings.collections:  # each collection its own generations, in folders and in Qdrant
            index_dir, prefix = index_dir / name, f"{prefix}{name}-"
        links = collection.links if self.settings.collections else self.settings.links
        return replace(self.settings, docs=collection.docs, links=links, index_dir=str(index_dir), collections=(),
                       default_collection=None, dm_collection=None, qdrant_prefix=prefix)

    def service(self, name: str) -> CitebotService:
        """The collection's service (not yet opened: that happens at its first question)."""
        with self._lock:
            if name not in self._services:
                self._services[name] = CitebotService(self.settings_for(name), self.embedder)
            return self._services[name]

    def open(self, name: str) -> CitebotService:
        """The collection's service with its index loaded (built first when there is none)."""
        service = self.service(name)
        self._last_asked[name] = time.monotonic()
        if not service.is_open:
            service.ensure_index()
            service.searcher  # noqa: B018 - loads the generation now, not inside the answer's timing
        return service

    def opened(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(n for n, s in self._services.items() if s.is_open)

    def close_idle(self, now: float | None = None) -> tuple[str, ...]:
        """Close the collections not asked for collection_idle_minutes; returns their names."""
        minutes = self.settings.collection_idle_minutes
        if minutes <= 0:
            return ()
        now = time.monotonic() if now is None else now
        closed = []
        for name in self.opened():
            if now - self._last_asked.get(name, now) >= minutes * 60:
                self._services[name].close()
                closed.append(name)
        return tuple(closed)

    def statuses(self) -> list[CollectionStatus]:
        found = []
        for c in self.collections:
            service = self.service(c.name)
            try:
                status = service.status()
            except IndexNotFound:
                status = None
            found.append(CollectionStatus(c.name, c.docs, service.is_open, status))
        return found
