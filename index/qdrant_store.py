"""Generations in Qdrant: a server, a cluster, or qdrant-client's embedded local mode.

    <prefix>gen-000007     one collection per generation, never changed once written
    <prefix>current        an alias naming the live one; a swap is one alias update

A generation's collection holds, as points:
    passages     id = passage number; a dense vector ("dense": cosine, int8 codes in RAM with the
                 float originals on disk, re-scored), a sparse vector ("bm25": each term's BM25
                 term-frequency weight, Qdrant multiplying in the IDF), the sentence vectors as
                 one fp16 multivector on disk and never indexed ("sentences": read, not searched),
                 and the passage's text, offsets and sentence spans as payload
    documents    one per file: what a citation names, and how many text parts it has
    text parts   a document's text in pieces (excerpts are checked against it verbatim)
    terms        each term's document frequency, for the answer layer's term weights
    manifest     what the FAISS store keeps in manifest.json
Only the passages have vectors, so only they are searched. Non-passage points get UUIDs made
from what they name; passages keep small integer ids, as in the FAISS store.

Fusion is not done by Qdrant: both halves come back in one batched request and search.py fuses
them, as it does for the FAISS store, so both stores rank the same candidates the same way.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.chunking import TEXT, Passage, context_line, matched_text
from index.dense import HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH, HNSW_M
from index.errors import IndexCorrupt, IndexEmpty, IndexIncompatible, IndexNotFound, StoreUnavailable
from index.generation import (
    FORMAT_VERSION, Candidates, Compatibility, DocumentInfo, DocumentRows, ReadPassage, StoredPassage,
)
from index.store import index_lock
from index.terms import terms

DENSE = "dense"
SPARSE = "bm25"
SENTENCES = "sentences"
_NAMESPACE = uuid.UUID("5b0d3c36-4a52-4c7e-9d0e-0c1b7a0e2f11")  # for the ids of non-passage points
_BATCH = 256  # points per upsert
_BATCH_BYTES = 8 << 20  # and about this much JSON at most: Qdrant refuses requests over 32 MB by default
_TEXT_PART = 200_000  # characters of document text per point: large files stay under request limits
# bm25s's defaults (method "lucene"), so both stores score a passage alike.
_K1 = 1.5
_B = 0.75
_OVERSAMPLING = 2.0  # int8 candidates re-scored with the originals, per result asked
DENSE_TYPE = "qdrant-hnsw-int8"  # the manifest's dense index type


@dataclass(frozen=True)
class QdrantPlace:
    """Which Qdrant, and which part of it belongs to this deployment."""

    url: str | None
    path: str | None
    api_key: str | None
    prefix: str
    timeout: float = 10.0
    shards: int = 1
    replicas: int = 1

    def describe(self) -> str:
        return f"Qdrant at {self.url}" if self.url else f"Qdrant local folder {self.path}"


_clients: dict[tuple, Any] = {}
_clients_lock = threading.Lock()


def _connection(place: QdrantPlace) -> tuple:
    return place.url, place.path, place.api_key, place.timeout


def client_for(place: QdrantPlace):
    """One client per server or folder per process: local mode locks its folder, and a server's
    connection pool is shared by every collection's service."""
    key = _connection(place)
    with _clients_lock:
        if key not in _clients:
            from qdrant_client import QdrantClient

            if not _clients:
                atexit.register(_close_all)
            if place.path:
                try:
                    _clients[key] = QdrantClient(path=place.path, force_disable_check_same_thread=True)
                except RuntimeError as err:  # the folder is locked by another process
                    raise StoreUnavailable(f"{place.describe()} cannot be opened: {str(err).splitlines()[0]}") from None
            else:
                # No version check at construction: it is a request, and an unreachable server is
                # reported by the first real call, as one line.
                _clients[key] = QdrantClient(url=place.url, api_key=place.api_key, timeout=max(1, round(place.timeout)),
                                             prefer_grpc=False, check_compatibility=False)
        return _clients[key]


def _close_all() -> None:
    """Close clients before the interpreter tears modules down (a local client closes its folder lock)."""
    with _clients_lock:
        clients = list(_clients.values())
        _clients.clear()
    for client in clients:
        with contextlib.suppress(Exception):
            client.close()


def forget_client(place: QdrantPlace) -> None:
    """Close and drop the process's client for place (tests, and a local folder handed over)."""
    with _clients_lock:
        client = _clients.pop(_connection(place), None)
    if client is not None:
        client.close()


class _Qdrant:
    """Calls into qdrant-client with its failures turned into one-line StoreUnavailable errors."""

    def __init__(self, place: QdrantPlace):
        self.place = place
        self.client = client_for(place)
        self.remote = not place.path
        # Local mode is plain Python over SQLite: one call at a time.
        self._guard = contextlib.nullcontext() if self.remote else threading.Lock()

    def __call__(self, what: str, call: Callable, *args, **kwargs):
        from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

        try:
            with self._guard:
                return call(*args, **kwargs)
        except UnexpectedResponse as err:
            if err.status_code in (401, 403):
                raise StoreUnavailable(f"{self.place.describe()} refused the API key (HTTP {err.status_code}) while "
                                       f"{what}; check qdrant_api_key") from None
            detail = err.reason_phrase or ""
            with contextlib.suppress(ValueError, TypeError, AttributeError, KeyError):
                detail = json.loads(err.content)["status"]["error"]
            if err.status_code == 404:  # a collection of ours is gone: the index is damaged, not the server
                raise IndexCorrupt(f"{self.place.describe()}: {what} failed ({str(detail)[:160]}); "
                                   "run: citebot index --rebuild") from None
            raise StoreUnavailable(f"{self.place.describe()} failed {what} (HTTP {err.status_code}: "
                                   f"{str(detail)[:160]})") from None
        except (ResponseHandlingException, OSError, TimeoutError) as err:
            reason = str(getattr(err, "source", None) or err).splitlines()[0][:160] or type(err).__name__
            raise StoreUnavailable(f"{self.place.describe()} cannot be reached while {what} ({reason})") from None
        except ValueError as err:
            if self.remote:
                raise
            # local mode's way of saying a collection is missing
            raise IndexCorrupt(f"{self.place.describe()}: {what} failed ({str(err).splitlines()[0][:160]}); "
                               "run: citebot index --rebuild") from None
        except RuntimeError as err:  # local mode: the client was closed under us
            raise StoreUnavailable(f"{self.place.describe()} is closed ({str(err).splitlines()[0][:160]})") from None


def _models():
    from qdrant_client import models

    return models


def _point_id(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "\x00".join(parts)))


def term_index(term: str) -> int:
    """A term's sparse-vector dimension: 32 bits of its hash (no vocabulary to keep in step;
    two terms share one at ~1 in 4 billion per pair, i.e. about one pair in 100k terms)."""
    return int.from_bytes(hashlib.blake2b(term.encode("utf-8"), digest_size=4).digest(), "little")


def question_vector(question: str) -> tuple[list[int], list[float]]:
    """A question's sparse vector: each term once per time it occurs, as BM25 sums it."""
    counts = Counter(term_index(t) for t in terms(question))
    return list(counts), [float(c) for c in counts.values()]


def _passage_vectors(vector: np.ndarray, sentence_vectors: np.ndarray) -> dict:
    """Rounded to fp16 here, as the FAISS store keeps sentence vectors, so both stores hold the
    same values (Qdrant's local mode keeps float32 whatever the datatype)."""
    vectors = {DENSE: np.asarray(vector, dtype=np.float32).tolist()}
    if len(sentence_vectors):
        vectors[SENTENCES] = np.asarray(sentence_vectors, dtype=np.float16).astype(np.float32).tolist()
    return vectors


def _sentence_vectors(point, dim: int) -> np.ndarray:
    found = (point.vector or {}).get(SENTENCES)
    return np.asarray(found, dtype=np.float32) if found else np.zeros((0, dim), np.float32)


def _passage_payload(passage: Passage) -> dict:
    return {
        "record": "passage", "doc_path": passage.doc_path, "kind": passage.kind, "section": list(passage.section),
        "text": passage.text, "start": passage.start, "end": passage.end,
        "sentences": [list(s) for s in passage.sentences],
        "sentence_kinds": [passage.sentence_kind(j) for j in range(len(passage.sentences))],
        "inline": [list(s) for s in passage.inline],
    }


def _passage_of(payload: dict) -> Passage:
    kinds = tuple(payload["sentence_kinds"])
    return Passage(payload["doc_path"], tuple(payload["section"]), payload["kind"], payload["text"],
                   payload["start"], payload["end"], tuple(tuple(s) for s in payload["sentences"]),
                   kinds if any(k != TEXT for k in kinds) else (), tuple(tuple(s) for s in payload.get("inline", ())))


def _document_payload(doc: DocumentInfo, parts: int) -> dict:
    return {"record": "document", "path": doc.path, "relpath": doc.relpath, "title": doc.title, "author": doc.author,
            "sha256": doc.sha256, "passages": doc.passages, "indexed_at": doc.indexed_at,
            "converter": doc.converter, "pages": list(doc.pages), "headings": doc.stored_headings(),
            "first_line": doc.first_line, "revision": doc.revision, "text_parts": parts}


def _document_of(payload: dict) -> DocumentInfo:
    return DocumentInfo(payload["path"], payload["relpath"], payload["title"], payload["author"], payload["sha256"],
                        payload["passages"], payload["indexed_at"], payload["converter"], tuple(payload["pages"]),
                        DocumentInfo.headings_of(payload["headings"]), payload["first_line"], payload["revision"])


class QdrantGeneration:
    """One generation's collection (index/generation.py's Generation). Reads name the collection,
    not the alias, so every answer comes from one generation even while a new one is swapped in."""

    def __init__(self, call: _Qdrant, collection: str, manifest: dict):
        self._call = call
        self.name = collection
        self.manifest = manifest
        self.number = int(manifest.get("generation", 0))
        self.size = int(manifest["counts"]["passages"])
        self.dimension = int(manifest["dimension"])

    def close(self) -> None:
        """Nothing to release: the client is shared by the process."""

    def candidates(self, query: np.ndarray, question: str, n: int) -> Candidates:
        m = _models()
        dense = m.QueryRequest(query=np.asarray(query, dtype=np.float32).tolist(), using=DENSE, limit=n,
                               params=self._search_params(), with_payload=False)
        requests = [dense]
        indices, values = question_vector(question)
        if indices:
            requests.append(m.QueryRequest(query=m.SparseVector(indices=indices, values=values), using=SPARSE,
                                           limit=n, with_payload=False))
        found = self._call("searching", self._call.client.query_batch_points, self.name, requests)
        dense_points = found[0].points
        lexical_points = found[1].points if indices else []
        return Candidates(tuple(int(p.id) for p in dense_points), tuple(float(p.score) for p in dense_points),
                          tuple(int(p.id) for p in lexical_points), tuple(float(p.score) for p in lexical_points))

    def _search_params(self):
        if not self._call.remote:
            return None  # local mode searches exactly and warns about index parameters
        m = _models()
        return m.SearchParams(hnsw_ef=HNSW_EF_SEARCH,
                              quantization=m.QuantizationSearchParams(rescore=True, oversampling=_OVERSAMPLING))

    def _retrieve(self, ids: Sequence, vectors: bool = False) -> list:
        if not ids:
            return []
        return self._call("reading passages", self._call.client.retrieve, self.name, list(ids), with_payload=True,
                          with_vectors=[DENSE, SENTENCES] if vectors else False)

    def read(self, ids: Sequence[int], query: np.ndarray) -> dict[int, ReadPassage]:
        found = {}
        query = np.asarray(query, dtype=np.float32)
        for point in self._retrieve([int(i) for i in ids], vectors=True):
            sentences = _sentence_vectors(point, self.dimension)
            cosine = float(np.asarray(point.vector[DENSE], dtype=np.float32) @ query)
            found[int(point.id)] = ReadPassage(int(point.id), _passage_of(point.payload), cosine,
                                               tuple((sentences @ query).tolist()))
        return found

    def passages(self, ids: Sequence[int]) -> dict[int, StoredPassage]:
        wanted = [int(i) for i in ids if 0 <= int(i) < self.size]
        found = {}
        for start in range(0, len(wanted), 1000):
            for point in self._retrieve(wanted[start:start + 1000]):
                found[int(point.id)] = StoredPassage(int(point.id), _passage_of(point.payload))
        return found

    def term_weights(self, words: list[str]) -> dict[str, float]:
        unique = sorted(set(words))
        points = self._call("reading term weights", self._call.client.retrieve, self.name,
                            [_point_id("term", w) for w in unique], with_payload=True) if unique else []
        df = {p.payload["term"]: int(p.payload["df"]) for p in points}
        n = self.size
        return {w: float(np.log(1 + (n - df.get(w, 0) + 0.5) / (df.get(w, 0) + 0.5))) for w in words}

    def _scroll(self, what: str, must: list, vectors: bool = False, payload: Any = True) -> Iterator:
        m = _models()
        offset = None
        while True:
            points, offset = self._call(what, self._call.client.scroll, self.name, scroll_filter=m.Filter(must=must),
                                        limit=1000, offset=offset, with_payload=payload,
                                        with_vectors=[DENSE, SENTENCES] if vectors else False)
            yield from points
            if offset is None:
                return

    def documents(self) -> list[DocumentInfo]:
        found = [_document_of(p.payload) for p in self._scroll("listing documents", [_match("record", "document")])]
        return sorted(found, key=lambda d: d.path)

    def _document_payload(self, path: str) -> dict | None:
        points = self._call("reading a document", self._call.client.retrieve, self.name,
                            [_point_id("document", path)], with_payload=True)
        return points[0].payload if points else None

    def document(self, path: str) -> DocumentInfo | None:
        payload = self._document_payload(path)
        return _document_of(payload) if payload else None

    def document_text(self, path: str) -> str:
        payload = self._document_payload(path)
        if not payload:
            return ""
        ids = [_point_id("text", path, str(i)) for i in range(payload["text_parts"])]
        parts = {p.payload["part"]: p.payload["text"]
                 for p in self._call("reading a document", self._call.client.retrieve, self.name, ids,
                                     with_payload=True)}
        if len(parts) != payload["text_parts"]:
            raise IndexCorrupt(f"{self.name}: the text of {path} is incomplete; run: citebot index --rebuild")
        return "".join(parts[i] for i in range(len(parts)))

    def document_rows(self, path: str) -> DocumentRows:
        payload = self._document_payload(path)
        if payload is None:
            raise IndexCorrupt(f"{self.name}: {path} is listed but not stored; run: citebot index --rebuild")
        points = sorted(self._scroll("copying a document", [_match("record", "passage"), _match("doc_path", path)],
                                     vectors=True), key=lambda p: int(p.id))
        passages = [_passage_of(p.payload) for p in points]
        sentence_vectors = [_sentence_vectors(p, self.dimension) for p in points]
        vectors = (np.asarray([p.vector[DENSE] for p in points], dtype=np.float32) if points
                   else np.zeros((0, self.dimension), np.float32))
        return DocumentRows(_document_of(payload), self.document_text(path), passages, vectors, sentence_vectors)


def _match(key: str, value: str):
    m = _models()
    return m.FieldCondition(key=key, match=m.MatchValue(value=value))


class QdrantStore:
    """Generations as Qdrant collections behind an alias (index/generation.py's GenerationStore).

    The writer's lock is a local file lock in lock_dir: run one index job per deployment (the
    docker-compose file in deploy/qdrant/ does)."""

    def __init__(self, place: QdrantPlace, lock_dir: Path):
        self.place = place
        self.lock_dir = Path(lock_dir)
        self._call = _Qdrant(place)
        self.alias = f"{place.prefix}current"
        self.where = f"{place.describe()} ({self.alias})"
        self._generation_name = re.compile(re.escape(place.prefix) + r"gen-(\d{6,})$")

    # ------------------------------------------------------------------ naming

    def _numbers(self) -> dict[int, str]:
        collections = self._call("listing collections", self._call.client.get_collections).collections
        found = {}
        for c in collections:
            matched = self._generation_name.match(c.name)
            if matched:
                found[int(matched.group(1))] = c.name
        return found

    def _collection(self, number: int) -> str:
        return f"{self.place.prefix}gen-{number:06d}"

    def current_name(self) -> str:
        aliases = self._call("reading the alias", self._call.client.get_aliases).aliases
        return next((a.collection_name for a in aliases if a.alias_name == self.alias), "")

    def names(self) -> list[str]:
        return [name for _, name in sorted(self._numbers().items())]

    def previous_name(self) -> str:
        current = self.current_name()
        if not current:
            return ""
        number = int(self._generation_name.match(current).group(1))
        older = [n for n in self._numbers() if n < number]
        return self._collection(max(older)) if older else ""

    # ------------------------------------------------------------------ reading

    def lock(self) -> contextlib.AbstractContextManager[None]:
        return index_lock(self.lock_dir)

    def _manifest(self, name: str) -> dict:
        points = self._call("reading the manifest", self._call.client.retrieve, name, [_point_id("manifest")],
                            with_payload=True)
        if not points:
            raise IndexCorrupt(f"{self.place.describe()}: {name} has no manifest (an unfinished build); "
                               "run: citebot index --rebuild")
        try:
            manifest = json.loads(points[0].payload["manifest"])
        except (KeyError, TypeError, ValueError):
            raise IndexCorrupt(f"{self.place.describe()}: {name}'s manifest is not valid; "
                               "run: citebot index --rebuild") from None
        return manifest

    def current_manifest(self) -> dict | None:
        name = self.current_name()
        return self._manifest(name) if name else None

    def open(self, compat: Compatibility | None = None, name: str | None = None) -> QdrantGeneration:
        name = name or self.current_name()
        if not name:
            raise IndexNotFound(f"no index in {self.where}; run: citebot index")
        manifest = self._manifest(name)
        if compat is not None:
            reason = compat.mismatch(manifest)
            if reason:
                raise IndexIncompatible(f"{reason}; run: citebot index --rebuild")
        return QdrantGeneration(self._call, name, manifest)

    def indexed_files(self) -> tuple[set[str], float]:
        name = self.current_name()
        if not name:
            return set(), 0.0
        generation = self.open(name=name)
        paths = {p.payload["path"] for p in generation._scroll("listing documents", [_match("record", "document")],
                                                                payload=["path"])}
        manifest = generation.manifest
        return paths | {s[0] for s in manifest.get("skipped", [])}, float(manifest.get("built_at", 0.0))

    def verify(self, full: bool = False) -> int:
        """Every point the build wrote is there (Qdrant checks its own storage). Without full,
        from the collection's own point count, one cheap request (`citebot status` and health
        checks run often); with full, counted exactly."""
        name = self.current_name()
        if not name:
            raise IndexNotFound(f"no index in {self.where}; run: citebot index")
        expected = int(self._manifest(name)["points"])
        if full:
            found = self._call("counting points", self._call.client.count, name, exact=True).count
        else:
            found = self._call("reading the collection", self._call.client.get_collection, name).points_count
        if found != expected:
            raise IndexCorrupt(f"{self.place.describe()}: {name} holds {found} points, its manifest {expected}; "
                               "run: citebot index --rebuild")
        return found

    # ------------------------------------------------------------------ writing

    def clean_leftovers(self) -> None:
        """Drop collections a killed build left behind: newer than the current one, never made current."""
        current = self.current_name()
        number = int(self._generation_name.match(current).group(1)) if current else 0
        for n, name in self._numbers().items():
            if n > number:
                self._call("removing an unfinished generation", self._call.client.delete_collection, name)

    def write(self, compat: Compatibility, dimension: int, docs_folders: Sequence[str],
              rows: Iterable[DocumentRows], skipped: Sequence[tuple[str, str, str]] = (),
              dense_choice: str = "auto") -> dict:
        self.clean_leftovers()
        numbers = self._numbers()
        number = max(numbers, default=0) + 1
        name = self._collection(number)
        previous = self.current_name()
        self._create(name, dimension)
        try:
            manifest = self._fill(name, compat, dimension, docs_folders, rows, skipped)
            manifest["generation"] = number
            self._upsert(name, [_models().PointStruct(id=_point_id("manifest"), vector={},
                                                      payload={"record": "manifest",
                                                               "manifest": json.dumps(manifest)})])
            self._swap_alias(name, had_alias=bool(previous))
        except BaseException:
            with contextlib.suppress(Exception):
                self._call("removing the unfinished generation", self._call.client.delete_collection, name)
            raise
        for n, old in self._numbers().items():  # keep the new one and the one it replaced
            if old not in (name, previous) and n < number:
                self._call("removing an old generation", self._call.client.delete_collection, old)
        return manifest

    def _create(self, name: str, dimension: int) -> None:
        m = _models()
        client = self._call.client
        self._call("creating a collection", client.create_collection, name,
                   vectors_config={
                       # int8 codes in RAM for the graph search, the originals on disk to re-score
                       DENSE: m.VectorParams(size=dimension, distance=m.Distance.COSINE, on_disk=True,
                                             quantization_config=m.ScalarQuantization(scalar=m.ScalarQuantizationConfig(
                                                 type=m.ScalarType.INT8, quantile=0.99, always_ram=True))),
                       # read for the hits only: no index, no codes, nothing in RAM
                       SENTENCES: m.VectorParams(size=dimension, distance=m.Distance.DOT, on_disk=True,
                                                 datatype=m.Datatype.FLOAT16, hnsw_config=m.HnswConfigDiff(m=0),
                                                 multivector_config=m.MultiVectorConfig(
                                                     comparator=m.MultiVectorComparator.MAX_SIM)),
                   },
                   sparse_vectors_config={SPARSE: m.SparseVectorParams(modifier=m.Modifier.IDF)},
                   hnsw_config=m.HnswConfigDiff(m=HNSW_M, ef_construct=HNSW_EF_CONSTRUCTION),
                   on_disk_payload=True, shard_number=self.place.shards, replication_factor=self.place.replicas)
        if self._call.remote:  # local mode has no payload indexes and says so
            for key in ("record", "doc_path"):
                self._call("creating a payload index", client.create_payload_index, name, key,
                           field_schema=m.PayloadSchemaType.KEYWORD)

    def _upsert(self, name: str, points: list) -> None:
        if points:
            self._call("writing points", self._call.client.upsert, name, points, wait=True)

    def _fill(self, name, compat, dimension, docs_folders, rows, skipped) -> dict:
        """Stream documents in; the sparse vectors follow once every passage's length is known
        (BM25 weighs a term by the passage's length against the average)."""
        m = _models()
        started = time.perf_counter()
        passage_terms: list[Counter] = []
        lengths: list[int] = []
        document_frequency: Counter = Counter()
        pending: list = []
        pending_bytes = 0
        documents = sentences = other_points = 0

        def add(point, size: int) -> None:
            """Queue a point; a batch is sent before it would pass _BATCH points or _BATCH_BYTES."""
            nonlocal pending, pending_bytes
            if pending and (len(pending) >= _BATCH or pending_bytes + size > _BATCH_BYTES):
                self._upsert(name, pending)
                pending, pending_bytes = [], 0
            pending.append(point)
            pending_bytes += size

        for item in rows:
            doc = item.document
            text_parts = [item.text[i:i + _TEXT_PART] for i in range(0, len(item.text), _TEXT_PART)] or [""]
            add(m.PointStruct(id=_point_id("document", doc.path), vector={},
                              payload=_document_payload(doc, len(text_parts))), 1024)
            for i, part in enumerate(text_parts):
                add(m.PointStruct(id=_point_id("text", doc.path, str(i)), vector={},
                                  payload={"record": "text", "path": doc.path, "part": i, "text": part}),
                    len(part.encode("utf-8")) * 2)  # JSON escapes can double it
            other_points += 1 + len(text_parts)
            for passage, vector, sent_vecs in zip(item.passages, item.vectors, item.sentence_vectors, strict=True):
                pid = len(lengths)
                words = terms(context_line(doc.title, passage.section) + "\n" + matched_text(passage))
                counts = Counter(words)
                passage_terms.append(counts)
                lengths.append(max(1, len(words)))  # bm25s counts an empty passage as one placeholder term
                document_frequency.update(counts.keys())
                sentences += len(passage.sentences)
                add(m.PointStruct(id=pid, vector=_passage_vectors(vector, sent_vecs), payload=_passage_payload(passage)),
                    len(passage.text.encode("utf-8")) * 2 + 12 * dimension * (1 + len(sent_vecs)))  # ~12 chars a float
            documents += 1
        self._upsert(name, pending)
        if not documents:
            raise IndexEmpty("no documents to index")
        rows_seconds = time.perf_counter() - started

        average = sum(lengths) / len(lengths)
        for start in range(0, len(lengths), _BATCH):
            updates = []
            for pid in range(start, min(start + _BATCH, len(lengths))):
                norm = _K1 * (1 - _B + _B * lengths[pid] / average)
                counts = passage_terms[pid]
                indices = [term_index(t) for t in counts]
                values = [tf / (tf + norm) for tf in counts.values()]
                updates.append(m.PointVectors(id=pid, vector={SPARSE: m.SparseVector(indices=indices, values=values)}))
            self._call("writing sparse vectors", self._call.client.update_vectors, name, updates, wait=True)
        terms_points = [m.PointStruct(id=_point_id("term", t), vector={}, payload={"record": "term", "term": t, "df": n})
                        for t, n in document_frequency.items()]
        for start in range(0, len(terms_points), _BATCH * 4):
            self._upsert(name, terms_points[start:start + _BATCH * 4])
        lexical_seconds = time.perf_counter() - started - rows_seconds
        return {
            "format": FORMAT_VERSION,
            "model": compat.model,
            "dimension": dimension,
            "chunking": compat.chunking,
            "dense_index": {"type": DENSE_TYPE, "reason": f"Qdrant HNSW (M={HNSW_M}) over int8 codes, re-scored"},
            "docs": list(docs_folders),
            "built_at": time.time(),
            "counts": {"documents": documents, "passages": len(lengths), "sentences": sentences},
            "skipped": [list(s) for s in skipped],
            "points": len(lengths) + other_points + len(terms_points) + 1,
            "store": {"engine": "qdrant", "collection": name},
            "build_seconds": {"rows": round(rows_seconds, 3), "lexical": round(lexical_seconds, 3)},
            "files": {},
        }

    def layout_matches(self, manifest: dict, dense_choice: str) -> bool:
        """Always: Qdrant builds its own HNSW index, so `dense_index` does not apply to it."""
        return True

    def _swap_alias(self, name: str, had_alias: bool) -> None:
        """One request: readers see the old collection or the new one, never neither."""
        m = _models()
        operations = []
        if had_alias:
            operations.append(m.DeleteAliasOperation(delete_alias=m.DeleteAlias(alias_name=self.alias)))
        operations.append(m.CreateAliasOperation(create_alias=m.CreateAlias(collection_name=name,
                                                                            alias_name=self.alias)))
        self._call("moving the alias", self._call.client.update_collection_aliases, operations)
