"""BM25 over passages (bm25s), saved as plain arrays and JSON, never pickle."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import bm25s
import numpy as np

from index.terms import terms


class LexicalIndex:
    def __init__(self, retriever: bm25s.BM25, size: int):
        self._retriever = retriever
        self.size = size

    @classmethod
    def build(cls, corpus_terms: Sequence[list[str]]) -> "LexicalIndex":
        """From each passage's terms (as index.terms.terms gives them)."""
        retriever = bm25s.BM25()
        # bm25s cannot index an empty token list; a placeholder keeps row numbers aligned.
        corpus = [t or ["\x00"] for t in corpus_terms]
        if corpus:
            retriever.index(corpus, show_progress=False)
        return cls(retriever, len(corpus))

    def save(self, folder: Path) -> None:
        if self.size:
            self._retriever.save(str(folder), allow_pickle=False)
        else:
            folder.mkdir(parents=True, exist_ok=True)

    @classmethod
    def load(cls, folder: Path, size: int) -> "LexicalIndex":
        if not size:
            return cls(bm25s.BM25(), 0)
        return cls(bm25s.BM25.load(str(folder), allow_pickle=False, mmap=True), size)

    def idf(self, words: list[str]) -> dict[str, float]:
        """BM25 inverse document frequency of already-normalised terms (unknown terms: highest)."""
        n = self.size
        vocab = self._retriever.vocab_dict if n else {}
        indptr = self._retriever.scores["indptr"] if n else None
        weights = {}
        for word in words:
            tid = vocab.get(word)
            df = int(indptr[tid + 1] - indptr[tid]) if tid is not None and tid + 1 < len(indptr) else 0
            weights[word] = float(np.log(1 + (n - df + 0.5) / (df + 0.5)))
        return weights

    def search(self, question: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Row ids and BM25 scores of the best k passages that share a term with question.

        Works on the postings of the question's terms only (bm25s's own retrieve scores every
        passage and starts a thread per call, which dominates at a million passages).
        """
        k = min(k, self.size)
        token_ids = self._retriever.get_tokens_ids(terms(question)) if k else []
        if not token_ids:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        scores = self._retriever.scores
        indptr, indices, data = scores["indptr"], scores["indices"], scores["data"]
        rows = np.concatenate([indices[indptr[t]:indptr[t + 1]] for t in token_ids])
        weights = np.concatenate([data[indptr[t]:indptr[t + 1]] for t in token_ids])
        if not len(rows):
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        totals = np.bincount(rows, weights=weights)
        # A passage is listed once per query term it holds, so the best len(token_ids) * k
        # postings by total hold the best k passages, so the top-k looks only at postings.
        per_posting = totals[rows]
        keep = min(len(rows), k * len(token_ids))
        if keep < len(rows):
            rows = rows[np.argpartition(-per_posting, keep - 1)[:keep]]
        touched = np.unique(rows)
        best = touched[np.argsort(-totals[touched], kind="stable")][:k]
        return best.astype(np.int64), totals[best].astype(np.float32)
