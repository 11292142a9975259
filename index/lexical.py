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
        """Row ids and BM25 scores of the best k passages that share a term with question."""
        query = terms(question)
        k = min(k, self.size)
        if not query or k == 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        ids, scores = self._retriever.retrieve([query], k=k, show_progress=False, n_threads=1)
        ids, scores = ids[0], scores[0]
        keep = scores > 0
        return ids[keep].astype(np.int64), scores[keep].astype(np.float32)
