"""Embedding throughput by batch size, thread count and batch order, on XQuAD's real passages.

    python bench/batch.py

Chooses Embedder's defaults for a 2-core machine: every combination encodes the same 252
passages (with per-sentence vectors, as the indexer does), best of three interleaved rounds.
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.evaluate import eval_settings, load_eval_file  # noqa: E402
from bot.service import CitebotService  # noqa: E402
from index.embedding import Embedder  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval"


def passages_of(service):
    gen = service.searcher.generation
    stored = gen.passages(range(gen.size)).values()
    texts = [s.passage.text for s in stored]
    spans = [[(a - s.passage.start, b - s.passage.start) for a, b in s.passage.sentences] for s in stored]
    return texts, spans


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        xquad = load_eval_file(str(EVAL / "xquad" / "xquad.en.json"))
        service = CitebotService(eval_settings(replace(Settings(), index_dir=tmp), xquad))
        service.ensure_index()
        texts, spans = passages_of(service)
    print(f"{len(texts)} passages; torch {torch.__version__}, default threads {torch.get_num_threads()}")
    base = Embedder(Settings().model)
    base.encode_queries(["warm up"])
    # Rounds interleave every setting, so the host's drift in speed hits all of them alike.
    best: dict[tuple[int, int], float] = {}
    for _ in range(3):
        for threads in (1, 2):
            torch.set_num_threads(threads)
            for batch in (8, 16, 32, 64, 128):
                base.batch_size = batch
                started = time.perf_counter()
                base.encode_passages(texts, spans)
                took = time.perf_counter() - started
                best[threads, batch] = min(best.get((threads, batch), took), took)
    for (threads, batch), took in sorted(best.items()):
        print(f"threads {threads}  batch {batch:>3}  {len(texts) / took:6.1f} passages/s (best of 3)")
    torch.set_num_threads(2)
    base.batch_size = 32
    # Sorted by length (what encode_passages does) against the same batches in file order.
    started = time.perf_counter()
    for b in range(0, len(texts), 32):
        base.encode_passages(texts[b:b + 32], spans[b:b + 32])
    in_order = time.perf_counter() - started
    started = time.perf_counter()
    base.encode_passages(texts, spans)
    by_length = time.perf_counter() - started
    print(f"batch 32, 2 threads: file order {len(texts) / in_order:6.1f} passages/s, "
          f"sorted by length {len(texts) / by_length:6.1f} passages/s")


if __name__ == "__main__":
    main()
