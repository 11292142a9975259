"""Question -> ranked passages, each with a score for every sentence in it.

Dense (cosine) and lexical (BM25) candidates, from whichever store holds the generation
(index/generation.py), are fused here by reciprocal rank, the same way for every store; the
cosine stays attached to each hit so the answer layer can judge whether anything relevant was
found at all.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from index.chunking import Passage
from index.embedding import Embedder
from index.generation import DocumentInfo, Generation
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
    query: np.ndarray | None = None  # the question's vector (kept by the question log, bot/chat/question_log.py)


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
        weights = self.generation.term_weights(terms(question))
        return SearchResult(question, hits, self.generation.number, t1 - t0, time.perf_counter() - t1, weights, query)

    def search_vector(self, question: str, query: np.ndarray, k: int) -> tuple[Hit, ...]:
        gen = self.generation
        if gen.size == 0:
            return ()
        found = gen.candidates(query, question, min(self.candidates, gen.size))
        fused: dict[int, float] = {}
        for ids in (found.dense_ids, found.lexical_ids):
            for rank, pid in enumerate(ids):
                fused[pid] = fused.get(pid, 0.0) + 1.0 / (_RRF_K + rank)
        lexical_of = dict(zip(found.lexical_ids, found.lexical_scores))
        top = sorted(fused, key=lambda pid: -fused[pid])[:k]
        read = gen.read(top, query)
        hits = []
        for pid in top:
            item = read.get(pid)
            if item is None:
                continue
            hits.append(Hit(
                passage=item.passage,
                document=self._document(item.passage.doc_path),
                score=fused[pid],
                dense=item.cosine,
                lexical=float(lexical_of.get(pid, 0.0)),
                sentence_scores=item.sentence_cosines,
            ))
        return tuple(hits)

    def _document(self, path: str) -> DocumentInfo:
        found = self._documents.get(path)
        if found is None:
            found = self.generation.document(path)
            if len(self._documents) < _DOCUMENT_CACHE:
                self._documents[path] = found
        return found
