"""Ten collections of about 1,000 passages each in one process: memory with one and with all ten
opened, the time to open a collection for its first question, and answer latency against a
single collection.

    python bench/many_collections.py

One synthetic corpus (bench/reindex.py's documents, ~1,000 passages) is indexed once and its
index copied into ten collections' folders (index_dir/c0 … c9, all over the same docs folder,
as a folder shared by collections is), so the ten generations are separate files, loaded
separately, without embedding the corpus ten times. Memory is the process's resident set
(VmRSS) after each step, measured in a fresh process that did not build anything (questions go
through ONNX Runtime, as in the bot), with the question encoder and reader warm before the first
reading. Figures go in docs/benchmarks.md.
"""

from __future__ import annotations

import gc
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.reindex import document  # noqa: E402
from bot.config import Collection, Settings  # noqa: E402
from bot.library import Library  # noqa: E402

COLLECTIONS = 10
DOCUMENTS = 300
QUESTIONS = ("When was the museum of Arden {n} opened?", "How many people attended the ceremony in Kelso {n}?",
             "What stands beside the old mill of Dunmore {n}?", "When was the lighthouse of Islay {n} opened?")


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def latencies(service, rounds: int = 60) -> list[float]:
    times = []
    for n in range(rounds):
        question = QUESTIONS[n % len(QUESTIONS)].format(n=n * 7 % DOCUMENTS)
        started = time.perf_counter()
        service.ask(question)
        times.append((time.perf_counter() - started) * 1000)
    return times


def settings_for(root: Path) -> Settings:
    names = [f"c{n}" for n in range(COLLECTIONS)]
    return replace(Settings(), index_dir=str(root / "index"),
                   collections=tuple(Collection(name, (str(root / "docs"),), (1000 + n,)) for n, name in enumerate(names)))


def measure(root: Path) -> None:
    settings = settings_for(root)
    names = [c.name for c in settings.collections]
    # A single-collection deployment: the same corpus as the one collection from `docs`.
    single = Library(replace(Settings(), docs=(str(root / "docs"),), index_dir=str(root / "index" / names[0])))
    service = single.service(single.names[0])
    service.warm_up()
    baseline = rss_mb()
    service = single.open(single.names[0])
    latencies(service, 10)  # warm
    single_ms = latencies(service)
    service.close()

    library = Library(settings, single.embedder)
    gc.collect()
    before = rss_mb()
    opening, after_one = [], None
    for name in names:
        started = time.perf_counter()
        library.open(name).ask(QUESTIONS[0].format(n=3))
        opening.append((time.perf_counter() - started) * 1000)
        if after_one is None:
            after_one = rss_mb()
    after_all = rss_mb()
    ten_ms = latencies(library.open(names[3]))
    closed = library.close_idle(now=time.monotonic() + 10 ** 9)
    gc.collect()
    after_close = rss_mb()
    print(f"resident memory: question encoder and reader warm, no index {baseline:.0f} MB; before opening "
          f"any collection {before:.0f} MB; 1 opened {after_one:.0f} MB (+{after_one - before:.0f}); "
          f"all {COLLECTIONS} opened {after_all:.0f} MB (+{after_all - before:.0f}, "
          f"{(after_all - before) / COLLECTIONS:.1f} MB each); after closing {len(closed)} idle: {after_close:.0f} MB")
    print(f"open + first answer per collection: median {statistics.median(opening):.0f} ms "
          f"(first {opening[0]:.0f} ms, max {max(opening):.0f} ms)")
    q = statistics.quantiles
    print(f"answer latency p50 / p95: single collection {statistics.median(single_ms):.1f} / "
          f"{q(single_ms, n=20)[18]:.1f} ms; one of {COLLECTIONS} opened {statistics.median(ten_ms):.1f} / "
          f"{q(ten_ms, n=20)[18]:.1f} ms")


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--measure":
        measure(Path(sys.argv[2]))
        return
    rng = random.Random(11)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        docs = root / "docs"
        docs.mkdir()
        for n in range(DOCUMENTS):
            (docs / f"doc{n:04d}.md").write_text(document(rng, n), encoding="utf-8")
        settings = settings_for(root)
        names = [c.name for c in settings.collections]
        started = time.perf_counter()
        report = Library(settings).service(names[0]).reindex()
        print(f"built one collection: {report.documents} documents, {report.passages} passages in "
              f"{time.perf_counter() - started:.0f} s; copied into {COLLECTIONS - 1} more", flush=True)
        for name in names[1:]:
            shutil.copytree(root / "index" / names[0], root / "index" / name)
        subprocess.run([sys.executable, __file__, "--measure", str(root)], check=True)


if __name__ == "__main__":
    main()
