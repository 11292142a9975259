"""What the answer layer and the indexer need of an index, whatever engine holds it.

A *generation* is one immutable, complete index; a *store* is where generations are written,
made current in one step, and opened. Two stores implement this: the embedded FAISS/SQLite
one (index/store.py, the default) and Qdrant (index/qdrant_store.py). Everything above this
interface (search.py, the indexer's reuse of unchanged documents, the service) is the same
for both.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from typing import Protocol

import numpy as np

from index.chunking import ChunkSettings, Passage
from index.documents import HeadingMark

FORMAT_VERSION = 10  # bump when stored data or its tokenization changes


@dataclass(frozen=True)
class DocumentInfo:
    path: str
    relpath: str
    title: str
    author: str
    sha256: str
    passages: int
    indexed_at: float
    converter: str = ""  # name/version of the converter that read it (index/converters/)
    pages: tuple[int, ...] = ()  # where each page starts in its text; () for formats without pages
    headings: tuple[HeadingMark, ...] = ()  # where links to its sections land (bot/links.py)
    first_line: int = 0  # the file's line (from 1) where its text starts; 0: the text was converted from the file
    revision: str = ""  # the git commit whose copy of the file is exactly what was indexed; "": none known

    def page_at(self, offset: int | None) -> int | None:
        """The 1-based page an offset of the text falls on, or None for a format without pages."""
        if not self.pages or offset is None:
            return None
        return bisect.bisect_right(self.pages, offset)

    def heading_at(self, offset: int | None) -> int | None:
        """The index in headings of the heading whose section holds offset (None: before any)."""
        if offset is None or not self.headings or self.headings[0].start > offset:
            return None
        return bisect.bisect_right([h.start for h in self.headings], offset) - 1

    def stored_headings(self) -> list[list]:
        """headings as JSON: [[start, level, title, anchor], ...]."""
        return [[h.start, h.level, h.title, h.anchor] for h in self.headings]

    @staticmethod
    def headings_of(stored: list) -> tuple[HeadingMark, ...]:
        return tuple(HeadingMark(int(start), int(level), str(title), str(anchor)) for start, level, title, anchor in stored)


@dataclass(frozen=True)
class Compatibility:
    """What every vector in one generation must share; a difference forces a full rebuild."""

    model: str
    chunking: dict

    @classmethod
    def of(cls, model: str, chunking: ChunkSettings) -> "Compatibility":
        return cls(model, asdict(chunking))

    def mismatch(self, manifest: dict) -> str:
        if manifest.get("format") != FORMAT_VERSION:
            return f"index format {manifest.get('format')} differs from this version's {FORMAT_VERSION}"
        if manifest.get("model") != self.model:
            return f"index was built with model {manifest.get('model')!r}, configured model is {self.model!r}"
        if manifest.get("chunking") != self.chunking:
            return f"chunking settings changed from {manifest.get('chunking')} to {self.chunking}"
        return ""


@dataclass
class DocumentRows:
    """Everything one document contributes to a generation, ready to be written."""

    document: DocumentInfo
    text: str
    passages: list[Passage]
    vectors: np.ndarray
    sentence_vectors: list[np.ndarray] = field(default_factory=list)


@dataclass(frozen=True)
class StoredPassage:
    id: int
    passage: Passage


@dataclass(frozen=True)
class ReadPassage:
    """A passage as the answer layer reads it: its text, and how close the question is to it
    and to each of its sentences (exact cosines, from the stored full-precision vectors)."""

    id: int
    passage: Passage
    cosine: float
    sentence_cosines: tuple[float, ...]


@dataclass(frozen=True)
class Candidates:
    """The best passages by each half of the search, best first: dense (cosine) and lexical (BM25)."""

    dense_ids: tuple[int, ...]
    dense_scores: tuple[float, ...]
    lexical_ids: tuple[int, ...]
    lexical_scores: tuple[float, ...]


class Generation(Protocol):
    """One immutable index generation. Safe to share between threads."""

    name: str  # as the store's current_name() gives it
    number: int
    size: int  # passages
    manifest: dict

    def candidates(self, query: np.ndarray, question: str, n: int) -> Candidates: ...

    def read(self, ids: Sequence[int], query: np.ndarray) -> dict[int, ReadPassage]: ...

    def term_weights(self, words: list[str]) -> dict[str, float]:
        """BM25 inverse document frequency of already-normalised terms (unknown terms: highest)."""
        ...

    def passages(self, ids: Sequence[int]) -> dict[int, StoredPassage]: ...

    def documents(self) -> list[DocumentInfo]: ...

    def document(self, path: str) -> DocumentInfo | None: ...

    def document_text(self, path: str) -> str: ...

    def document_rows(self, path: str) -> DocumentRows:
        """A stored document's passages and vectors, for reuse in the next generation."""
        ...

    def close(self) -> None: ...


class GenerationStore(Protocol):
    """Where generations live: written whole, made current in one step, the previous one kept."""

    where: str  # named in messages: a folder, or a Qdrant URL and prefix

    def lock(self) -> AbstractContextManager[None]:
        """The one writer's lock."""
        ...

    def clean_leftovers(self) -> None: ...

    def current_name(self) -> str: ...

    def previous_name(self) -> str: ...

    def names(self) -> list[str]:
        """Every generation the store holds, oldest first."""
        ...

    def current_manifest(self) -> dict | None: ...

    def open(self, compat: Compatibility | None = None, name: str | None = None) -> Generation: ...

    def write(self, compat: Compatibility, dimension: int, docs_folders: Sequence[str],
              rows: Iterable[DocumentRows], skipped: Sequence[tuple[str, str, str]] = (),
              dense_choice: str = "auto") -> dict:
        """Write a complete generation, make it current and return its manifest (caller holds lock()).

        rows may be a generator; skipped is read only after it is exhausted."""
        ...

    def layout_matches(self, manifest: dict, dense_choice: str) -> bool:
        """Whether a generation is stored as the settings would store it now; if not, an update
        rewrites it even with no document changed (reusing its vectors)."""
        ...

    def indexed_files(self) -> tuple[set[str], float]:
        """The paths the current generation holds or skipped, and when it was built."""
        ...

    def verify(self, full: bool = False) -> int:
        """Check the current generation is whole; IndexCorrupt names what is not. Returns items checked."""
        ...
