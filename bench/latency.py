"""Answer latency beside question-embedding time, and indexing throughput beside raw encode.

    python bench/latency.py            (prints figures; record them in docs/benchmarks.md)

Everything runs in one process with the model warm: the same questions are timed for the
embedding alone and for the whole answer, and the same passages for raw
SentenceTransformer.encode and for the whole indexer. Questions are embedded through ONNX
Runtime (index/onnx_query.py); SentenceTransformer.encode of the same question is timed too,
as the reference the 1.5x answer target was first set against. Each question is also answered
with the reader switched off (`reader: false`), right after, to show what the reader costs.
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.evaluate import eval_settings, load_eval_file  # noqa: E402
from bot.service import CitebotService  # noqa: E402
from index.embedding import shared_embedder  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval"
ROUNDS = 20


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))] * 1000


def answer_latency(service, questions, rounds=ROUNDS):
    embed, answer, reference, unread = [], [], [], []
    model = service.embedder.model
    # The same index answered without the reader (bot/answering/reader.py), alternating question by question.
    without_reader = CitebotService(replace(service.settings, reader=False), service.embedder)
    without_reader.ask("warm up")
    for _ in range(rounds):
        for q in questions:
            t = time.perf_counter()
            service.embedder.encode_queries([q])
            embed.append(time.perf_counter() - t)
            t = time.perf_counter()
            service.ask(q)
            answer.append(time.perf_counter() - t)
            t = time.perf_counter()
            without_reader.ask(q)
            unread.append(time.perf_counter() - t)
    # Timed apart: right after a torch run its idle threads still spin and slow the next ONNX
    # Runtime run, and torch is not in the answer path.
    for _ in range(rounds):
        for q in questions:
            t = time.perf_counter()
            model.encode([q], normalize_embeddings=True, show_progress_bar=False)
            reference.append(time.perf_counter() - t)
    return embed, answer, reference, unread


def report_latency(embed, answer, reference, unread):
    print(f"  question embedding  p50 {pct(embed, .5):6.1f} ms  p95 {pct(embed, .95):6.1f} ms  (ONNX Runtime)")
    print(f"  SentenceTransformer.encode of the question  p50 {pct(reference, .5):6.1f} ms  p95 {pct(reference, .95):6.1f} ms")
    print(f"  whole answer        p50 {pct(answer, .5):6.1f} ms  p95 {pct(answer, .95):6.1f} ms")
    print(f"  same, reader off    p50 {pct(unread, .5):6.1f} ms  p95 {pct(unread, .95):6.1f} ms")
    print(f"  ratio answer/embed  p50 {pct(answer, .5) / pct(embed, .5):6.2f}x; "
          f"answer/SentenceTransformer.encode {pct(answer, .5) / pct(reference, .5):6.2f}x")


def main() -> None:
    embedder = shared_embedder(Settings().model)
    with tempfile.TemporaryDirectory() as tmp:
        seeds = CitebotService(replace(Settings(), docs=(str(ROOT / "seeds"),), index_dir=f"{tmp}/seeds"), embedder)
        seeds.ensure_index()
        questions = [q["question"] for q in yaml.safe_load((EVAL / "izium_dev.yaml").read_text())["questions"]]
        seeds.ask("warm up")
        timings = answer_latency(seeds, questions)
        print(f"seeds index: {seeds.status().passages} passages, {len(timings[1])} answers")
        report_latency(*timings)

        xquad = load_eval_file(str(EVAL / "xquad" / "xquad.en.json"))
        settings = replace(eval_settings(replace(Settings(), index_dir=f"{tmp}/xq"), xquad))
        xq = CitebotService(settings, embedder)
        texts = None
        index_runs, raw_runs = [], []
        for _ in range(2):  # alternate the two, best of two each: the machine is shared
            started = time.perf_counter()
            report = xq.reindex(rebuild=True)
            index_runs.append(time.perf_counter() - started)
            if texts is None:
                texts = [p.passage.text for p in xq.searcher.generation.passages(range(report.passages)).values()]
            started = time.perf_counter()
            embedder.model.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
            raw_runs.append(time.perf_counter() - started)
        index_seconds, raw_seconds = min(index_runs), min(raw_runs)
        timings = answer_latency(xq, [q.question for q in xquad.questions[:200]], rounds=1)
        print(f"xquad index: {report.passages} passages, {len(timings[1])} answers")
        report_latency(*timings)

        print(f"indexing {report.documents} documents, {report.passages} passages (full rebuild)")
        print(f"  citebot index       {report.passages / index_seconds:7.1f} passages/s ({index_seconds:.1f} s)")
        print(f"  raw encode          {len(texts) / raw_seconds:7.1f} passages/s ({raw_seconds:.1f} s)")
        print(f"  ratio               {(report.passages / index_seconds) / (len(texts) / raw_seconds):7.1%}")


if __name__ == "__main__":
    main()
