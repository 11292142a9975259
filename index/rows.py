"""Rows of a raw, row-major matrix on disk, read on demand with pread.

Answers read a few hundred scattered rows (re-scoring candidates, sentence vectors of the
hits). Through a memory map each read maps the surrounding cached pages into the process
(the kernel's fault-around, which MADV_RANDOM does not stop), so resident memory grew to
the size of the file (1.3 GB of RSS after 200 questions at a million passages). pread
copies just the rows asked for; the file stays in the shared page cache.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np


class RowFile:
    def __init__(self, path: Path, dtype: str, rows: int, dim: int):
        self.dtype = np.dtype(dtype)
        self.shape = (rows, dim)
        self._row_bytes = self.dtype.itemsize * dim
        self._fd = os.open(path, os.O_RDONLY) if rows else -1
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self.shape[0]

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def __del__(self) -> None:
        try:
            self.close()
        except (OSError, AttributeError):
            pass

    def slice(self, start: int, stop: int) -> np.ndarray:
        start, stop = max(0, start), min(stop, len(self))
        if stop <= start:
            return np.zeros((0, self.shape[1]), dtype=self.dtype)
        data = os.pread(self._fd, (stop - start) * self._row_bytes, start * self._row_bytes)
        if len(data) != (stop - start) * self._row_bytes:
            raise OSError(f"short read from index file ({len(data)} bytes)")
        return np.frombuffer(data, dtype=self.dtype).reshape(stop - start, self.shape[1])

    def take(self, ids: Sequence[int]) -> np.ndarray:
        """Rows in the order given; runs of consecutive ids are read with one call, straight
        into the result (a question reads ~80 scattered rows: per-row copies showed up)."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if not len(ids):
            return np.empty((0, self.shape[1]), dtype=self.dtype)
        order = np.argsort(ids, kind="stable")
        sorted_ids = ids[order]
        if sorted_ids[0] < 0 or sorted_ids[-1] >= len(self):
            raise IndexError(f"row id out of range 0..{len(self) - 1}")
        rows = np.empty((len(ids), self.shape[1]), dtype=self.dtype)
        buffer = memoryview(rows).cast("B")
        size = self._row_bytes
        breaks = np.flatnonzero(np.diff(sorted_ids) != 1) + 1
        for run_start, run_end in zip(np.r_[0, breaks].tolist(), np.r_[breaks, len(ids)].tolist()):
            wanted = (run_end - run_start) * size
            got = os.preadv(self._fd, [buffer[run_start * size:run_end * size]], int(sorted_ids[run_start]) * size)
            if got != wanted:
                raise OSError(f"short read from index file ({got} of {wanted} bytes)")
        if (order == np.arange(len(ids))).all():
            return rows
        out = np.empty_like(rows)
        out[order] = rows
        return out

    def __getitem__(self, key) -> np.ndarray:
        if isinstance(key, slice):
            start, stop, step = key.indices(len(self))
            if step != 1:
                raise ValueError("RowFile slices take no step")
            return self.slice(start, stop)
        if isinstance(key, (int, np.integer)):
            return self.slice(int(key), int(key) + 1)[0]
        return self.take(key)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        whole = self.slice(0, len(self))
        return whole.astype(dtype) if dtype is not None else whole
