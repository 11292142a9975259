"""The one object the CLI and the Discord bot share: settings, model, live index generation.

Questions are answered from an immutable Searcher; a re-index builds a new generation and
swaps the Searcher in one assignment, so every answer comes from a single generation.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from bot.answering import tagging
from bot.answering.compose import AnswerSettings, answer_question
from bot.answering.question import read_question
from bot.answering.reader import OnnxReader, export_missing, find_reader
from bot.answering.selector import OnnxSelector, find_selector
from bot.answering.selector import export_missing as selector_export_missing
from bot.config import Settings
from bot.links import Linker, with_links
from bot.types import Answer
from index.chunking import ChunkSettings
from index.converters import Limits, format_support
from index.dense import DenseSpec
from index import onnx_query
from index.embedding import Embedder, resolve_model, shared_embedder
from index.errors import IndexCorrupt, IndexNotFound, ModelError
from index.indexer import IndexReport, ProgressFactory, changes_since_build, update_index
from index.search import Searcher
from index.generation import Compatibility, DocumentInfo, GenerationStore
from index.store import FaissStore


_readers: dict[str, OnnxReader | None] = {}
_selectors: dict[str, OnnxSelector | None] = {}
_shared_lock = threading.Lock()


def _model_dir(embedder: Embedder) -> Path | None:
    try:
        return Path(resolve_model(embedder.model_name))
    except ModelError:
        return None  # the search reports it


def _shared(found: dict, find, embedder: Embedder):
    """One trained model (reader, selector) per embedding model for the whole process: every
    collection's service uses the same one, found or exported by find(model_dir, load_model)."""
    with _shared_lock:
        if embedder.model_name not in found:
            model_dir = _model_dir(embedder)
            found[embedder.model_name] = model_dir and find(model_dir, lambda: embedder.cpu_model)
        return found[embedder.model_name]


def _shared_reader(embedder: Embedder) -> OnnxReader | None:
    return _shared(_readers, find_reader, embedder)


def _shared_selector(embedder: Embedder) -> OnnxSelector | None:
    return _shared(_selectors, find_selector, embedder)


def open_store(settings: Settings) -> GenerationStore:
    """Where this collection's generations live: folders under index_dir (FAISS), or Qdrant."""
    if settings.store == "qdrant":
        from index.qdrant_store import QdrantPlace, QdrantStore  # qdrant-client is imported only when used
        place = QdrantPlace(url=settings.qdrant_url, path=settings.qdrant_path, api_key=settings.qdrant_api_key,
                            prefix=settings.qdrant_prefix, timeout=settings.qdrant_timeout_seconds,
                            shards=settings.qdrant_shards, replicas=settings.qdrant_replicas)
        return QdrantStore(place, lock_dir=Path(settings.index_dir))
    return FaissStore(Path(settings.index_dir))


@dataclass(frozen=True)
class Answered:
    answer: Answer
    vector: np.ndarray | None  # the question's embedding


@dataclass(frozen=True)
class Status:
    index_dir: str
    generation: int
    model: str
    documents: int
    passages: int
    built_at: float
    docs: tuple[str, ...]
    dense_index: str
    reader: str = "on"  # or "off — why"
    warning: str = ""  # the current generation is damaged: answers come from an older one
    stale: str = ""  # the docs changed since the build
    formats: tuple[tuple[str, str], ...] = ()  # (format, "" or why it cannot be read here)


class CitebotService:
    def __init__(self, settings: Settings, embedder: Embedder | None = None):
        self.settings = settings
        self.embedder = embedder or shared_embedder(settings.model, settings.device)
        self.index_dir = Path(settings.index_dir)
        self.store = open_store(settings)
        self._searcher: Searcher | None = None
        self._reindex_lock = threading.Lock()
        self._checked_at = time.monotonic()
        self._damaged = ""
        self.warning = ""  # set when serving a fallback generation
        self.linker = Linker(settings.links) if settings.links is not None else None

    @property
    def chunking(self) -> ChunkSettings:
        return ChunkSettings(self.settings.chunk_tokens, self.settings.chunk_overlap)

    @property
    def compatibility(self) -> Compatibility:
        return Compatibility.of(self.embedder.model_name, self.chunking)

    @property
    def answer_settings(self) -> AnswerSettings:
        return AnswerSettings(k=self.settings.k, threshold=self.settings.threshold, reader=self.reader(),
                              selector=self.selector())

    def reader(self) -> OnnxReader | None:
        """The trained reader for the highlight (bot/answering/reader.py), found or exported on first use;
        None when it is switched off or does not fit the model."""
        if not self.settings.reader:
            return None
        return _shared_reader(self.embedder)

    def selector(self) -> OnnxSelector | None:
        """The trained selector that chooses the excerpts (bot/answering/selector.py), found or
        exported on first use; None when the trained models are switched off or do not fit the model."""
        if not self.settings.reader:
            return None
        return _shared_selector(self.embedder)

    def index_is_current_for_docs(self) -> bool:
        try:
            manifest = self.store.current_manifest()
        except IndexCorrupt:
            return False
        return (
            manifest is not None
            and manifest.get("docs") == list(self.settings.docs)
            and not self.compatibility.mismatch(manifest)
        )

    @property
    def conversion_limits(self) -> Limits:
        s = self.settings
        return Limits(seconds=s.convert_seconds, memory_mb=s.convert_memory_mb, max_pages=s.max_pages)

    def reindex(self, rebuild: bool = False, progress: ProgressFactory | None = None) -> IndexReport:
        """Update the index on disk, then swap the live searcher (when one is open) to the new generation."""
        with self._reindex_lock:
            report = update_index(
                self.settings.docs, self.store, self.embedder, self.chunking,
                self.settings.max_file_bytes, rebuild=rebuild, progress=progress,
                dense_index=self.settings.dense_index, limits=self.conversion_limits,
                follow_links_outside_docs=self.settings.follow_links_outside_docs,
            )
            if report.wrote and self._searcher is not None:
                self.open()  # a closed index is opened when next asked
            if self.embedder.loaded:
                self.reader()  # exported now, while the torch model is loaded, not at the first question
                self.selector()
            return report

    def ensure_index(self, progress: ProgressFactory | None = None) -> IndexReport | None:
        """Build the index when there is none (or it was built from other docs folders)."""
        if self.index_is_current_for_docs():
            return None
        return self.reindex(progress=progress)

    def open(self) -> None:
        """Load the current generation; on corruption fall back to the previous one."""
        try:
            generation = self.store.open(self.compatibility)
            self.warning = ""
        except IndexCorrupt as err:
            fallback = self.store.previous_name()
            if not fallback:
                raise
            generation = self.store.open(self.compatibility, name=fallback)
            self._damaged = self.store.current_name()  # not retried by follow_current until it changes
            self.warning = f"{err} (serving the previous generation meanwhile)"
        old, self._searcher = self._searcher, Searcher(generation, self.embedder)
        # The old generation's files may still be read by an answer in flight; its memory
        # maps close when the last reference goes, so it is not closed here.
        del old

    def close(self) -> None:
        """Let the live generation go (its memory maps close with the last answer using it);
        the next question opens it again."""
        self._searcher = None

    @property
    def is_open(self) -> bool:
        return self._searcher is not None

    @property
    def searcher(self) -> Searcher:
        if self._searcher is None:
            self.open()
        assert self._searcher is not None
        return self._searcher

    def follow_current(self, now: float | None = None) -> bool:
        """Switch to the store's current generation when another process made a new one current
        (checked at most every reload_check_seconds); True when it switched."""
        every = self.settings.reload_check_seconds
        now = time.monotonic() if now is None else now
        if self._searcher is None or every <= 0 or now - self._checked_at < every:
            return False
        self._checked_at = now
        name = self.store.current_name()
        if not name or name in (self._searcher.generation.name, self._damaged):
            return False
        # Not while this process is building: its own swap follows, and a question must not
        # wait for a build to finish.
        if not self._reindex_lock.acquire(blocking=False):
            return False
        try:
            if name != self._searcher.generation.name:
                self.open()
        finally:
            self._reindex_lock.release()
        return True

    def ask(self, question: str, k: int | None = None) -> Answer:
        return self.answer(question, k).answer

    def answer(self, question: str, k: int | None = None) -> "Answered":
        """The answer, and the question's vector (the question log keeps it, to group questions later)."""
        self.follow_current()
        searcher = self.searcher  # one generation for the whole answer
        settings = self.answer_settings
        if k is not None:
            settings = replace(settings, k=k)
        # The selector was trained on what the ranking makes of this many passages.
        searched = max(8, settings.k * 3, settings.selector.searched if settings.selector else 0)
        result = searcher.search(question, k=searched)
        answer = answer_question(read_question(question), result.hits, settings, result.generation,
                                 result.term_weights)
        generation = searcher.generation
        return Answered(with_links(answer, self.linker, generation.document, generation.document_text), result.query)

    def nearest_section(self, question: str, vector: np.ndarray) -> tuple[str, str | None]:
        """Where in the docs a question's answer would belong: the passage nearest to it in
        meaning, as "Title › Section (path)", and the section's link (None without `links`)."""
        hits = self.searcher.search_vector(question, np.asarray(vector, dtype=np.float32), 1)
        if not hits:
            return "", None
        doc, passage = hits[0].document, hits[0].passage
        where = " › ".join(part for part in (doc.title, *passage.section) if part)
        url = self.linker.section_url(doc, passage.start) if self.linker else None
        return f"{where} ({doc.relpath})", url

    def warm_up(self) -> None:
        """Load the question encoder and run it once (the first run allocates and is slow), and
        the tagger's lexicon (~0.1 s to read), and the reader."""
        self.embedder.encode_queries(["warm up"])
        tagging.warm_up()
        if (warm := self.reader()) is not None:
            warm.read("Warm up?", "Warm up.")
        if (chooser := self.selector()) is not None:
            chooser.scores("Warm up?", [("Warm", "Warm up.")])

    def documents(self) -> list[DocumentInfo]:
        return self.searcher.generation.documents()

    def verify(self) -> int:
        """Hash every file of the current generation in full; IndexCorrupt names a damaged one."""
        return self.store.verify(full=True)

    def degraded(self) -> str:
        """Why answers here run below their best ("" when they do not): without a writable cache
        the ONNX exports cannot be made, so questions go through torch and the trained models are off."""
        problem = onnx_query.cache_problem()
        if not problem:
            return ""
        model_dir = _model_dir(self.embedder)
        if model_dir is None or (not export_missing(model_dir) and not selector_export_missing(model_dir)):
            return ""
        return f"{problem}; questions go through torch and the trained models (selector, reader) are off"

    def reader_state(self) -> str:
        if not self.settings.reader:
            return "off (reader: false)"
        problem = self.degraded()
        return f"off — {problem}" if problem else "on"

    def stale_reason(self) -> str:
        """How the docs folders differ from what the index holds ("" when they do not): by file
        names and modification times only, nothing is read."""
        try:
            added, changed, removed = changes_since_build(self.settings.docs, self.store)
        except IndexCorrupt:
            return ""
        if not (added or removed or changed):
            return ""
        return (f"the docs changed since the index was built ({added} added, {changed} changed, {removed} removed); "
                "run: citebot index")

    def status(self) -> Status:
        manifest = self.store.current_manifest()
        if manifest is None:
            raise IndexNotFound(f"no index in {self.store.where}; run: citebot index")
        warning = ""
        try:
            self.store.verify()
        except IndexCorrupt as err:
            older = self.store.previous_name()
            warning = f"{err}" + (f" (answers come from the previous generation, {older})" if older else "")
        return Status(
            index_dir=self.store.where,
            generation=int(manifest.get("generation", 0)),
            model=manifest["model"],
            documents=manifest["counts"]["documents"],
            passages=manifest["counts"]["passages"],
            built_at=manifest["built_at"],
            docs=tuple(manifest.get("docs", ())),
            dense_index=DenseSpec.from_manifest(manifest["dense_index"]).describe(),
            reader=self.reader_state(),
            warning=warning,
            stale=self.stale_reason(),
            formats=format_support(),
        )
