"""Incremental re-indexing on a synthetic corpus of 1,000 documents of about 2 KB each.

    python bench/reindex.py

Times the first build, a no-op run, one changed, one added and one removed document, with
the passages embedded by each (figures go in docs/benchmarks.md).
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import Settings  # noqa: E402
from bot.service import CitebotService  # noqa: E402

DOCUMENTS = 1000
WORDS = ("river bridge council harbour festival railway museum library garden factory mill tower market "
         "school bakery orchard quarry canal stadium hospital theatre observatory lighthouse vineyard").split()
PLACES = "Arden Belmont Corrin Dunmore Eskdale Fairholm Glenby Harwick Islay Kelso Lanark Morven".split()


def document(rng: random.Random, n: int) -> str:
    place = rng.choice(PLACES)
    lines = [f"---\ntitle: {place} {n} chronicle\nauthor: Bench\n---", f"# {place} {n}"]
    while sum(len(x) for x in lines) < 2000:
        if rng.random() < 0.15:
            lines.append(f"\n## {rng.choice(WORDS).title()} history\n")
        a, b = rng.sample(WORDS, 2)
        lines.append(f"The {a} of {place} {n} was opened in {rng.randint(1700, 2020)} beside the old {b}, "
                     f"and {rng.randint(2, 900)} people attended the ceremony that {rng.choice(['spring', 'autumn', 'winter'])}.")
    return "\n".join(lines) + "\n"


def timed(label: str, service: CitebotService) -> None:
    started = time.perf_counter()
    report = service.reindex()
    seconds = time.perf_counter() - started
    print(f"{label:<22} {seconds:8.2f} s   embedded {report.embedded:5d} passages   "
          f"({report.documents} documents, {report.passages} passages; added {len(report.added)}, "
          f"changed {len(report.changed)}, removed {len(report.removed)})")


def main() -> None:
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        docs = Path(tmp) / "docs"
        docs.mkdir()
        for n in range(DOCUMENTS):
            (docs / f"doc{n:04d}.md").write_text(document(rng, n), encoding="utf-8")
        service = CitebotService(replace(Settings(), docs=(str(docs),), index_dir=f"{tmp}/index"))
        service.embedder.model  # load the model before timing
        timed("first build", service)
        timed("no-op", service)
        (docs / "doc0500.md").write_text(document(rng, 5000), encoding="utf-8")
        timed("one changed", service)
        (docs / "new.md").write_text(document(rng, 6000), encoding="utf-8")
        timed("one added", service)
        (docs / "doc0001.md").unlink()
        timed("one removed", service)


if __name__ == "__main__":
    main()
