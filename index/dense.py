"""The dense (vector) index of a generation: exact while small, HNSW over 8-bit codes when large.

Exact inner-product search costs time in proportion to the corpus (0.3 ms per question at
5k passages, 1-5 ms at 20k, ~30 ms at 100k on 2 cores); HNSW costs about a millisecond at
any size measured. HNSW keeps 8-bit scalar-quantised codes (384 bytes per vector instead of
1,536, plus 384 bytes of graph links) and the candidates it returns are re-scored exactly
against the full-precision vectors, which stay memory-mapped on disk: memory is half that of
a flat index and the order among the candidates is exact.
Parameters were chosen by recall@10 against exact search (bench/scale.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import faiss
import numpy as np

from index.errors import ConfigError

DENSE_CHOICES = ("auto", "flat", "hnsw")
HNSW_ABOVE = 5_000  # passages; exact search stays under half a millisecond up to here
_TRAIN_SAMPLE = 100_000  # vectors the 8-bit quantiser learns its per-dimension ranges from
_ADD_CHUNK = 65_536
_RESCORED = 64
# Chosen by recall@10 against exact search (bench/scale.py, docs/scaling.md): M=32 and
# efConstruction=100 level off near 0.97 however wide the search. The Qdrant store uses them too.
HNSW_M = 48
HNSW_EF_CONSTRUCTION = 200
HNSW_EF_SEARCH = 512


@dataclass(frozen=True)
class DenseSpec:
    """Which index a generation uses and with what parameters; stored in the manifest."""

    type: str  # "flat-ip" or "hnsw-sq8"
    reason: str
    m: int = 0
    ef_construction: int = 0
    ef_search: int = 0

    @classmethod
    def from_manifest(cls, data: dict) -> "DenseSpec":
        return cls(**{k: data[k] for k in ("type", "reason", "m", "ef_construction", "ef_search") if k in data})

    def as_manifest(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        if self.type == "hnsw-sq8":
            return (f"{self.type} (M={self.m}, efConstruction={self.ef_construction}, efSearch={self.ef_search}; "
                    f"{self.reason})")
        return f"{self.type} ({self.reason})"


def choose_dense(passages: int, configured: str = "auto") -> DenseSpec:
    if configured not in DENSE_CHOICES:
        raise ConfigError(f"dense_index: {configured!r} is not one of {', '.join(DENSE_CHOICES)}")
    if configured == "flat" or (configured == "auto" and passages <= HNSW_ABOVE):
        reason = "set by dense_index: flat" if configured == "flat" else f"auto: {passages:,} passages ≤ {HNSW_ABOVE:,}"
        return DenseSpec("flat-ip", reason)
    reason = "set by dense_index: hnsw" if configured == "hnsw" else f"auto: {passages:,} passages > {HNSW_ABOVE:,}"
    return DenseSpec("hnsw-sq8", reason, m=HNSW_M, ef_construction=HNSW_EF_CONSTRUCTION, ef_search=HNSW_EF_SEARCH)


def build_dense(spec: DenseSpec, vectors):
    """Build the FAISS index over vectors (an array or an index.rows.RowFile; read in chunks)."""
    dim = vectors.shape[1]
    if spec.type == "flat-ip":
        index = faiss.IndexFlatIP(dim)
    else:
        index = faiss.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_8bit, spec.m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = spec.ef_construction
        if len(vectors):
            sample = np.arange(0, len(vectors), max(1, len(vectors) // _TRAIN_SAMPLE))[:_TRAIN_SAMPLE]
            index.train(np.ascontiguousarray(vectors[sample], dtype=np.float32))
    for start in range(0, len(vectors), _ADD_CHUNK):
        index.add(np.ascontiguousarray(vectors[start:start + _ADD_CHUNK], dtype=np.float32))
    return index


class DenseIndex:
    """Search that returns exact cosine scores, whatever index found the candidates."""

    def __init__(self, spec: DenseSpec, index, vectors):  # vectors: array or index.rows.RowFile
        self.spec = spec
        self.index = index
        self.vectors = vectors
        self._params = faiss.SearchParametersHNSW(efSearch=spec.ef_search) if spec.type == "hnsw-sq8" else None

    @classmethod
    def load(cls, spec: DenseSpec, path: Path, vectors) -> "DenseIndex":
        return cls(spec, faiss.read_index(str(path)), vectors)

    @property
    def size(self) -> int:
        return int(self.index.ntotal)

    def search(self, query: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Ids and cosines of the best n passages, best first."""
        n = min(n, self.size)
        if n == 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        query = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        if self._params is None:
            scores, ids = self.index.search(query, n)
            keep = ids[0] >= 0  # FAISS pads with -1 when it finds fewer than n
            return ids[0][keep].astype(np.int64), scores[0][keep]
        # Re-scoring more than 64 candidates changed recall@10 by nothing measurable (bench/scale.py).
        _, ids = self.index.search(query, max(n, _RESCORED), params=self._params)
        candidates = np.sort(ids[0][ids[0] >= 0])  # sorted ids read the file in order
        exact = np.asarray(self.vectors[candidates], dtype=np.float32) @ query[0]
        best = np.argsort(-exact, kind="stable")[:n]
        return candidates[best].astype(np.int64), exact[best]
