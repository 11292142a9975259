"""The index on disk: immutable generations behind a CURRENT pointer.

    <index_dir>/CURRENT          name of the live generation, replaced atomically
    <index_dir>/LOCK             flock held by the one indexer writing
    <index_dir>/gen-000007/      manifest.json, passages.sqlite, vectors.f32,
                                 sentence_vectors.f16, dense.faiss, lexical/

Vectors are raw little-endian row-major matrices (shape in the manifest), written as
documents stream in and read by row (index/rows.py), so neither side holds them all.

A generation is written to a temporary folder, fsynced, renamed, and only then named in
CURRENT, so a crash at any moment leaves either the old or the new generation whole.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import faiss
import numpy as np

from index.chunking import Passage, context_line, matched_text
from index.dense import DenseIndex, DenseSpec, build_dense, choose_dense
from index.errors import IndexCorrupt, IndexEmpty, IndexIncompatible, IndexLocked, IndexNotFound, IndexWriteError
from index.generation import (
    FORMAT_VERSION, Candidates, Compatibility, DocumentInfo, DocumentRows, ReadPassage, StoredPassage,
)
from index.lexical import LexicalIndex
from index.rows import RowFile
from index.terms import terms

CURRENT = "CURRENT"
MANIFEST = "manifest.json"
_TMP_PREFIX = "tmp-"
_GEN_PREFIX = "gen-"
_GENERATION_NAME = re.compile(r"^gen-\d{6,}$")
VECTORS = "vectors.f32"
SENTENCE_VECTORS = "sentence_vectors.f16"
DENSE = "dense.faiss"
# Larger files are checked at load by size and sampled blocks, not a full hash: hashing
# gigabytes of vectors would dominate start-up at a million passages.
FULL_HASH_BELOW = 64 << 20
_SAMPLE_BLOCKS = 64
_SAMPLE_BYTES = 64 << 10

_SCHEMA = """
CREATE TABLE documents (
    path TEXT PRIMARY KEY, relpath TEXT NOT NULL, title TEXT NOT NULL, author TEXT NOT NULL,
    sha256 TEXT NOT NULL, text TEXT NOT NULL, indexed_at REAL NOT NULL, passages INTEGER NOT NULL,
    converter TEXT NOT NULL, pages TEXT NOT NULL,
    headings TEXT NOT NULL,  -- JSON [[start, level, title, anchor], ...]
    first_line INTEGER NOT NULL, revision TEXT NOT NULL
);
CREATE TABLE passages (
    id INTEGER PRIMARY KEY, doc_path TEXT NOT NULL, kind TEXT NOT NULL, section TEXT NOT NULL,
    text TEXT NOT NULL, start INTEGER, end INTEGER,
    first_sentence INTEGER NOT NULL, sentence_count INTEGER NOT NULL,
    inline TEXT NOT NULL  -- JSON [[start, end], ...]: inline markup inside its sentences
);
CREATE INDEX passages_doc ON passages(doc_path);
CREATE TABLE sentences (id INTEGER PRIMARY KEY, start INTEGER NOT NULL, end INTEGER NOT NULL, kind TEXT NOT NULL);
"""


# --------------------------------------------------------------------------- locking


@contextlib.contextmanager
def index_lock(index_dir: Path, wait: bool = True, timeout: float = 600.0) -> Iterator[None]:
    """Exclusive writer lock; the kernel releases it if the holder dies."""
    _ensure_dir(index_dir)
    fd = os.open(index_dir / "LOCK", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not wait or time.monotonic() > deadline:
                    raise IndexLocked(
                        f"{index_dir} is locked by another indexer; wait for it to finish"
                    ) from None
                time.sleep(0.2)
        yield
    finally:
        os.close(fd)


def _ensure_dir(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
        if not os.access(path, os.W_OK):
            raise IndexWriteError(f"index folder {path} is not writable")
    except PermissionError:
        raise IndexWriteError(f"index folder {path} cannot be created: permission denied") from None
    except FileExistsError:
        raise IndexWriteError(f"index folder {path} exists and is not a folder") from None
    except OSError as err:
        raise IndexWriteError(f"index folder {path} cannot be created: {err.strerror}") from None


# --------------------------------------------------------------------------- writing


def write_generation(
    index_dir: Path,
    compat: Compatibility,
    dimension: int,
    docs_folders: Sequence[str],
    rows: Iterable[DocumentRows],
    skipped: Sequence[tuple[str, str, str]] = (),
    dense_choice: str = "auto",
) -> dict:
    """Write a complete generation, make it current and return its manifest. Caller holds index_lock.

    rows may be a generator; skipped is read only after it is exhausted, so the generator
    may still add to it.
    """
    _ensure_dir(index_dir)
    clean_leftovers(index_dir)
    tmp = Path(tempfile.mkdtemp(prefix=_TMP_PREFIX, dir=index_dir))
    try:
        manifest = _write_files(tmp, compat, dimension, docs_folders, rows, skipped, dense_choice)
        number = _next_generation_number(index_dir)
        manifest["generation"] = number
        _write_json(tmp / MANIFEST, manifest)
        _fsync_tree(tmp)
        final = index_dir / f"{_GEN_PREFIX}{number:06d}"
        os.rename(tmp, final)
        _fsync_dir(index_dir)
        _fault_point("before-current")
        _replace_current(index_dir, final.name)
        _fault_point("after-current")
    except OSError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        reason = "disk full" if err.errno == errno.ENOSPC else (err.strerror or str(err))
        raise IndexWriteError(f"cannot write index in {index_dir}: {reason}; the previous index is unchanged") from None
    except sqlite3.Error as err:  # SQLite says "database or disk is full" in its own words
        shutil.rmtree(tmp, ignore_errors=True)
        reason = "disk full" if "full" in str(err) else str(err).splitlines()[0]
        raise IndexWriteError(f"cannot write index in {index_dir}: {reason}; the previous index is unchanged") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _remove_old_generations(index_dir, keep={final.name, *_previous_names(index_dir, final.name)})
    return manifest


def _write_files(folder, compat, dim, docs_folders, rows, skipped, dense_choice) -> dict:
    """Stream rows to disk: memory holds one document at a time plus the BM25 terms."""
    db = sqlite3.connect(folder / "passages.sqlite")
    db.executescript(_SCHEMA)
    corpus_terms: list[list[str]] = []
    documents = 0
    passage_id = sentence_id = 0
    timings: dict[str, float] = {}
    started = time.perf_counter()
    with open(folder / VECTORS, "wb") as vector_file, open(folder / SENTENCE_VECTORS, "wb") as sentence_file:
        for item in rows:
            doc = item.document
            db.execute(
                "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (doc.path, doc.relpath, doc.title, doc.author, doc.sha256, item.text, doc.indexed_at, doc.passages,
                 doc.converter, json.dumps(list(doc.pages)), json.dumps(doc.stored_headings(), ensure_ascii=False),
                 doc.first_line, doc.revision),
            )
            passage_rows, sentence_rows = [], []
            for passage, sent_vecs in zip(item.passages, item.sentence_vectors, strict=True):
                passage_rows.append((
                    passage_id, passage.doc_path, passage.kind, json.dumps(list(passage.section)),
                    passage.text, passage.start, passage.end, sentence_id, len(passage.sentences),
                    json.dumps([list(span) for span in passage.inline]),
                ))
                sentence_rows.extend((sentence_id + j, a, b, passage.sentence_kind(j))
                                     for j, (a, b) in enumerate(passage.sentences))
                sentence_id += len(passage.sentences)
                passage_id += 1
                # The title and headings are matched with the passage: "the town" under a title that names it.
                corpus_terms.append(terms(context_line(doc.title, passage.section) + "\n" + matched_text(passage)))
                sentence_file.write(np.ascontiguousarray(sent_vecs, dtype="<f2").tobytes())
            db.executemany("INSERT INTO passages VALUES (?,?,?,?,?,?,?,?,?,?)", passage_rows)
            db.executemany("INSERT INTO sentences VALUES (?,?,?,?)", sentence_rows)
            vector_file.write(np.ascontiguousarray(item.vectors, dtype="<f4").tobytes())
            documents += 1
            _fault_point("writing")
    db.commit()
    db.close()
    if not documents:
        raise IndexEmpty("no documents to index")

    timings["rows"] = time.perf_counter() - started

    spec = choose_dense(passage_id, dense_choice)
    vectors = RowFile(folder / VECTORS, "<f4", passage_id, dim)
    faiss.write_index(build_dense(spec, vectors), str(folder / DENSE))
    vectors.close()
    timings["dense"] = time.perf_counter() - started - sum(timings.values())
    LexicalIndex.build(corpus_terms).save(folder / "lexical")
    del corpus_terms
    timings["lexical"] = time.perf_counter() - started - sum(timings.values())
    files = {str(p.relative_to(folder)): _file_record(p) for p in sorted(folder.rglob("*")) if p.is_file()}
    timings["checksums"] = time.perf_counter() - started - sum(timings.values())

    return {
        "format": FORMAT_VERSION,
        "model": compat.model,
        "dimension": dim,
        "chunking": compat.chunking,
        "dense_index": spec.as_manifest(),
        "docs": list(docs_folders),
        "built_at": time.time(),
        "counts": {"documents": documents, "passages": passage_id, "sentences": sentence_id},
        "skipped": [list(s) for s in skipped],
        "files": files,
        "build_seconds": {k: round(v, 3) for k, v in timings.items()},  # where a build's time went
    }


def _fault_point(name: str) -> None:
    """Test-only: CITEBOT_FAULT=<name> makes the process die here, like kill -9 would."""
    if os.environ.get("CITEBOT_FAULT") == name:
        os.kill(os.getpid(), 9)


def _write_json(path: Path, data: dict) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=1)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _sampled_sha256(path: Path, size: int) -> str:
    """Hash of evenly spaced blocks (first and last included): catches truncation and most damage."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for i in range(_SAMPLE_BLOCKS):
            f.seek((size - _SAMPLE_BYTES) * i // (_SAMPLE_BLOCKS - 1) if size > _SAMPLE_BYTES else 0)
            digest.update(f.read(_SAMPLE_BYTES))
    return digest.hexdigest()


def _file_record(path: Path) -> dict:
    size = path.stat().st_size
    record = {"sha256": _sha256_file(path), "bytes": size}
    if size >= FULL_HASH_BELOW:
        record["sampled_sha256"] = _sampled_sha256(path, size)
    return record


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as f:
                os.fsync(f.fileno())
    for path in [folder, *(p for p in folder.rglob("*") if p.is_dir())]:
        _fsync_dir(path)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _replace_current(index_dir: Path, name: str) -> None:
    tmp = index_dir / f"{_TMP_PREFIX}{CURRENT}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(name + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, index_dir / CURRENT)
    _fsync_dir(index_dir)


def _generation_names(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.glob(f"{_GEN_PREFIX}*") if p.is_dir())


def _next_generation_number(index_dir: Path) -> int:
    names = _generation_names(index_dir)
    return int(names[-1][len(_GEN_PREFIX):]) + 1 if names else 1


def _previous_names(index_dir: Path, current: str) -> list[str]:
    older = [n for n in _generation_names(index_dir) if n < current]
    return older[-1:]


def _remove_old_generations(index_dir: Path, keep: set[str]) -> None:
    for name in _generation_names(index_dir):
        if name not in keep:
            shutil.rmtree(index_dir / name, ignore_errors=True)


def clean_leftovers(index_dir: Path) -> None:
    """Remove temp folders a killed indexer left behind. Caller holds index_lock."""
    if not index_dir.is_dir():
        return
    current = read_current_name(index_dir)
    for path in index_dir.glob(f"{_TMP_PREFIX}*"):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    for name in _generation_names(index_dir):
        # A generation renamed into place but never made current was a crash mid-swap.
        if current and name > current:
            shutil.rmtree(index_dir / name, ignore_errors=True)


# --------------------------------------------------------------------------- reading


def read_current_name(index_dir: Path) -> str:
    try:
        name = (index_dir / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return ""
    except OSError as err:
        raise IndexCorrupt(f"{index_dir / CURRENT} cannot be read ({err.strerror}); run: citebot index --rebuild") from None
    except ValueError:
        name = "\ufffd"
    if name and not _GENERATION_NAME.match(name):  # damaged, or pointing out of the index folder
        raise IndexCorrupt(f"{index_dir / CURRENT} does not name a generation; run: citebot index --rebuild")
    return name


def indexed_files(index_dir: Path) -> tuple[set[str], float]:
    """The paths the current generation holds or skipped, and when it was built: what the docs
    folders are compared against to tell whether the index is stale (no vectors are loaded)."""
    name = read_current_name(index_dir)
    if not name:
        return set(), 0.0
    manifest = read_manifest(index_dir / name)
    try:
        db = sqlite3.connect(f"file:{index_dir / name / 'passages.sqlite'}?mode=ro", uri=True)
        try:
            paths = {row[0] for row in db.execute("SELECT path FROM documents")}
        finally:
            db.close()
    except sqlite3.Error as err:
        raise IndexCorrupt(f"{index_dir / name} cannot be read ({err}); run: citebot index --rebuild") from None
    return paths | {s[0] for s in manifest.get("skipped", [])}, float(manifest.get("built_at", 0.0))


def read_manifest(folder: Path) -> dict:
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexCorrupt(f"{path} is missing; run: citebot index --rebuild") from None
    except (OSError, ValueError):
        raise IndexCorrupt(f"{path} is unreadable or not valid JSON; run: citebot index --rebuild") from None
    if not isinstance(manifest, dict) or "files" not in manifest:
        raise IndexCorrupt(f"{path} is not a citebot manifest; run: citebot index --rebuild")
    return manifest


def current_manifest(index_dir: Path) -> dict | None:
    name = read_current_name(index_dir)
    if not name:
        return None
    return read_manifest(index_dir / name)


def verify_files(folder: Path, manifest: dict, full: bool = False) -> None:
    """Check every file against the manifest before anything parses it.

    Large files get the sampled check unless full is asked for.
    """
    for name, expected in manifest["files"].items():
        path = folder / name
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise IndexCorrupt(f"{path} is missing; run: citebot index --rebuild") from None
        if size == expected["bytes"] and "sampled_sha256" in expected and not full:
            intact = _sampled_sha256(path, size) == expected["sampled_sha256"]
        else:
            intact = size == expected["bytes"] and _sha256_file(path) == expected["sha256"]
        if not intact:
            raise IndexCorrupt(
                f"{path} is truncated or altered (checksum mismatch); run: citebot index --rebuild"
            )


class FaissGeneration:
    """One immutable generation on local disk (index/generation.py's Generation). Safe to share
    between threads."""

    def __init__(self, folder: Path, manifest: dict):
        self.folder = folder
        self.name = folder.name
        self.manifest = manifest
        self.number = int(manifest.get("generation", 0))
        self.size = int(manifest["counts"]["passages"])
        dim = int(manifest["dimension"])
        self.vectors = RowFile(folder / VECTORS, "<f4", self.size, dim)
        self.sentence_vectors = RowFile(folder / SENTENCE_VECTORS, "<f2", int(manifest["counts"]["sentences"]), dim)
        self.dense = DenseIndex.load(DenseSpec.from_manifest(manifest["dense_index"]), folder / DENSE, self.vectors)
        self.lexical = LexicalIndex.load(folder / "lexical", self.size)
        self._db = sqlite3.connect(f"file:{folder / 'passages.sqlite'}?mode=ro", uri=True, check_same_thread=False)
        self._db_lock = threading.Lock()
        if self.dense.size != self.size:
            raise IndexCorrupt(f"{folder} holds {self.dense.size} vectors for {self.size} passages; run: citebot index --rebuild")

    def close(self) -> None:
        with self._db_lock:
            self._db.close()
        self.vectors.close()
        self.sentence_vectors.close()

    def candidates(self, query: np.ndarray, question: str, n: int) -> Candidates:
        n = min(n, self.size)
        dense_ids, dense_scores = self.dense.search(query, n)
        lexical_ids, lexical_scores = self.lexical.search(question, n)
        return Candidates(tuple(dense_ids.tolist()), tuple(dense_scores.tolist()),
                          tuple(lexical_ids.tolist()), tuple(lexical_scores.tolist()))

    def read(self, ids: Sequence[int], query: np.ndarray) -> dict[int, ReadPassage]:
        found = self._stored(ids)
        if not found:
            return {}
        ordered = sorted(found)
        cosines = np.asarray(self.vectors[ordered], dtype=np.float32) @ query
        read = {}
        for pid, cosine in zip(ordered, cosines.tolist()):
            stored, first = found[pid]
            count = len(stored.passage.sentences)
            sentences = np.asarray(self.sentence_vectors[first:first + count], dtype=np.float32)
            read[pid] = ReadPassage(pid, stored.passage, float(cosine), tuple((sentences @ query).tolist()))
        return read

    def term_weights(self, words: list[str]) -> dict[str, float]:
        return self.lexical.idf(words)

    def passages(self, ids: Sequence[int]) -> dict[int, StoredPassage]:
        return {pid: stored for pid, (stored, _) in self._stored(ids).items()}

    def _stored(self, ids: Sequence[int]) -> dict[int, tuple[StoredPassage, int]]:
        """Passages by id, each with the row of its first sentence vector."""
        ids = [int(i) for i in ids if 0 <= int(i) < self.size]
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        with self._db_lock:
            rows = self._db.execute(
                f"SELECT id, doc_path, kind, section, text, start, end, first_sentence, sentence_count, inline "
                f"FROM passages WHERE id IN ({marks})", ids,
            ).fetchall()
            found: dict[int, tuple[StoredPassage, int]] = {}
            for pid, doc_path, kind, section, text, start, end, first, count, inline in rows:
                spans = self._db.execute(
                    "SELECT start, end, kind FROM sentences WHERE id >= ? AND id < ? ORDER BY id", (first, first + count),
                ).fetchall()
                kinds = tuple(k for _, _, k in spans)
                passage = Passage(doc_path, tuple(json.loads(section)), kind, text, start, end,
                                  tuple((a, b) for a, b, _ in spans), kinds if any(k != "text" for k in kinds) else (),
                                  tuple((a, b) for a, b in json.loads(inline)))
                found[pid] = (StoredPassage(pid, passage), first)
        return found

    def documents(self) -> list[DocumentInfo]:
        with self._db_lock:
            rows = self._db.execute(
                f"SELECT {_INFO_COLUMNS} FROM documents ORDER BY path"
            ).fetchall()
        return [_document_info(row) for row in rows]

    def document(self, path: str) -> DocumentInfo | None:
        with self._db_lock:
            row = self._db.execute(
                f"SELECT {_INFO_COLUMNS} FROM documents WHERE path = ?", (path,),
            ).fetchone()
        return _document_info(row) if row else None

    def document_text(self, path: str) -> str:
        with self._db_lock:
            row = self._db.execute("SELECT text FROM documents WHERE path = ?", (path,)).fetchone()
        return row[0] if row else ""

    def document_rows(self, path: str) -> DocumentRows:
        """A stored document's passages and vectors, for reuse in the next generation."""
        with self._db_lock:
            info = self._db.execute(
                f"SELECT {_INFO_COLUMNS}, text FROM documents WHERE path = ?",
                (path,),
            ).fetchone()
            ids = [r[0] for r in self._db.execute("SELECT id FROM passages WHERE doc_path = ? ORDER BY id", (path,))]
        stored = self._stored(ids)
        passages = [stored[i][0].passage for i in ids]
        sentence_vectors = [
            np.asarray(self.sentence_vectors[stored[i][1]:stored[i][1] + len(stored[i][0].passage.sentences)],
                       dtype=np.float32)
            for i in ids
        ]
        vectors = np.asarray(self.vectors[ids], dtype=np.float32) if ids else np.zeros((0, self.vectors.shape[1]), np.float32)
        return DocumentRows(_document_info(info[:-1]), info[-1], passages, vectors, sentence_vectors)


_INFO_COLUMNS = "path, relpath, title, author, sha256, passages, indexed_at, converter, pages, headings, first_line, revision"


def _document_info(row) -> DocumentInfo:
    *fixed, pages, headings, first_line, revision = row
    return DocumentInfo(*fixed, pages=tuple(json.loads(pages)), headings=DocumentInfo.headings_of(json.loads(headings)),
                        first_line=first_line, revision=revision)


def load_generation(index_dir: Path, compat: Compatibility | None = None, name: str | None = None) -> FaissGeneration:
    """Open the current (or named) generation, verified against its manifest."""
    name = name or read_current_name(index_dir)
    if not name:
        raise IndexNotFound(f"no index in {index_dir}; run: citebot index")
    folder = index_dir / name
    if not folder.is_dir():
        raise IndexCorrupt(f"{folder} named in {index_dir / CURRENT} is missing; run: citebot index --rebuild")
    manifest = read_manifest(folder)
    if compat is not None:
        reason = compat.mismatch(manifest)
        if reason:
            raise IndexIncompatible(f"{reason}; run: citebot index --rebuild")
    verify_files(folder, manifest)
    try:
        return FaissGeneration(folder, manifest)
    except (RuntimeError, ValueError, KeyError, TypeError, sqlite3.Error, OSError) as err:
        raise IndexCorrupt(f"{folder} cannot be loaded ({str(err).splitlines()[0][:120]}); run: citebot index --rebuild") from None


def previous_generation_name(index_dir: Path) -> str:
    current = read_current_name(index_dir)
    older = [n for n in _generation_names(index_dir) if n < current] if current else []
    return older[-1] if older else ""


class FaissStore:
    """Generations as folders under index_dir (the embedded default; see index/generation.py)."""

    def __init__(self, index_dir: Path):
        self.index_dir = Path(index_dir)
        self.where = str(self.index_dir)

    def lock(self) -> contextlib.AbstractContextManager[None]:
        return index_lock(self.index_dir)

    def clean_leftovers(self) -> None:
        clean_leftovers(self.index_dir)

    def current_name(self) -> str:
        return read_current_name(self.index_dir)

    def previous_name(self) -> str:
        return previous_generation_name(self.index_dir)

    def names(self) -> list[str]:
        return _generation_names(self.index_dir) if self.index_dir.is_dir() else []

    def current_manifest(self) -> dict | None:
        return current_manifest(self.index_dir)

    def open(self, compat: Compatibility | None = None, name: str | None = None) -> FaissGeneration:
        return load_generation(self.index_dir, compat, name)

    def write(self, compat, dimension, docs_folders, rows, skipped=(), dense_choice="auto") -> dict:
        return write_generation(self.index_dir, compat, dimension, docs_folders, rows, skipped, dense_choice)

    def layout_matches(self, manifest: dict, dense_choice: str) -> bool:
        """Whether the stored vector index is what dense_choice would choose now (else the
        generation is rewritten, reusing its vectors)."""
        stored = manifest.get("dense_index", {}).get("type")
        return stored == choose_dense(manifest["counts"]["passages"], dense_choice).type

    def indexed_files(self) -> tuple[set[str], float]:
        return indexed_files(self.index_dir)

    def verify(self, full: bool = False) -> int:
        name = read_current_name(self.index_dir)
        if not name:
            raise IndexNotFound(f"no index in {self.index_dir}; run: citebot index")
        manifest = read_manifest(self.index_dir / name)
        verify_files(self.index_dir / name, manifest, full=full)
        return len(manifest["files"])
