"""Question -> ranked passages, each with a score for every sentence in it.

Dense (FAISS inner product on normalised vectors, i.e. cosine) and lexical (BM25) results
are fused by reciprocal rank; the cosine stays attached to each hit so the answer layer can
judge whether anything relevant was found at all.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from index.chunking import Passage
from index.embedding import Embedder
from index.store import DocumentInfo, Generation
from index.terms import terms

_RRF_K = 60
_DOCUMENT_CACHE = 10_000


@dataclass(frozen=True)
class Hit:
    passage: Passage
    document: DocumentInfo
    score: float  # fused rank score, for ordering only
    dense: float  # cosine(question, passage)
    lexical: float  # BM25 score, 0 when no shared term
    sentence_scores: tuple[float, ...]  # cosine(question, sentence) per passage.sentences


@dataclass(frozen=True)
class SearchResult:
    question: str
    hits: tuple[Hit, ...]
    generation: int
    embed_seconds: float
    search_seconds: float
    term_weights: dict[str, float]  # IDF of each question term in this generation


class Searcher:
    """Answers from one immutable generation; swap the generation to see new documents."""

    def __init__(self, generation: Generation, embedder: Embedder, candidates: int = 50):
        self.generation = generation
        self.embedder = embedder
        self.candidates = candidates
        self._documents: dict[str, DocumentInfo] = {}  # filled on first hit: corpora can hold millions

    def search(self, question: str, k: int = 5) -> SearchResult:
        t0 = time.perf_counter()
        query = self.embedder.encode_queries([question])[0]
        t1 = time.perf_counter()
        hits = self.search_vector(question, query, k)
        weights = self.generation.lexical.idf(terms(question))
        return SearchResult(question, hits, self.generation.number, t1 - t0, time.perf_counter() - t1, weights)

    def search_vector(self, question: str, query: np.ndarray, k: int) -> tuple[Hit, ...]:
        gen = self.generation
        if gen.size == 0:
            return ()
        n = min(self.candidates, gen.size)
        found_ids, found_scores = gen.dense.search(query, n)
        dense_ids = found_ids.tolist()
        lexical_ids, lexical_scores = gen.lexical.search(question, n)

        fused: dict[int, float] = {}
        for rank, pid in enumerate(dense_ids):
            fused[pid] = fused.get(pid, 0.0) + 1.0 / (_RRF_K + rank)
        for rank, pid in enumerate(lexical_ids.tolist()):
            fused[pid] = fused.get(pid, 0.0) + 1.0 / (_RRF_K + rank)
        lexical_of = dict(zip(lexical_ids.tolist(), lexical_scores.tolist()))
        top = sorted(fused, key=lambda pid: -fused[pid])[:k]

        stored = gen.passages(top)
        dense_of = dict(zip(dense_ids, found_scores.tolist()))  # exact cosines already
        lexical_only = sorted(pid for pid in top if pid not in dense_of)
        if lexical_only:
            dense_of.update(zip(lexical_only, (np.asarray(gen.vectors[lexical_only], dtype=np.float32) @ query).tolist()))
        hits = []
        for pid in top:
            item = stored.get(pid)
            if item is None:
                continue
            count = len(item.passage.sentences)
            sentence_vectors = np.asarray(gen.sentence_vectors[item.first_sentence:item.first_sentence + count], dtype=np.float32)
            hits.append(Hit(
                passage=item.passage,
                document=self._document(item.passage.doc_path),
                score=fused[pid],
                dense=float(dense_of[pid]),
                lexical=float(lexical_of.get(pid, 0.0)),
                sentence_scores=tuple((sentence_vectors @ query).tolist()),
            ))
        return tuple(hits)

    def _document(self, path: str) -> DocumentInfo:
        found = self._documents.get(path)
        if found is None:
            found = self.generation.document(path)
            if len(self._documents) < _DOCUMENT_CACHE:
                self._documents[path] = found
        return found
