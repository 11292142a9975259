"""Answer quality on the five shared documentation corpora (../shared/eval/<corpus>/ with
<corpus>.yaml), scored by `citebot eval`'s own code: the `tune` and `held_out` halves apart,
aggregate figures only (held_out failures are never printed or read).

    python bench/corpora.py [--only CORPUS ...] [--index-root DIR] [--rebuild]

Each corpus is indexed under DIR/<corpus> (default .citebot/corpora); --rebuild re-embeds.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.quality import _merge, row  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.evaluate import load_eval_file, run_eval  # noqa: E402
from bot.service import CitebotService  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "eval"
CORPORA = ("python_docs", "django_docs", "rust_book", "debian_faq", "opensource_guide")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=list(CORPORA), help="corpora to score")
    parser.add_argument("--index-root", default=".citebot/corpora")
    parser.add_argument("--rebuild", action="store_true", help="re-embed every corpus")
    args = parser.parse_args()
    base = load_settings()
    embedder = None
    runs: dict[str, list[tuple[str, dict]]] = {"held_out": [], "tune": []}
    for corpus in args.only:
        settings = replace(base, docs=(str(SHARED / corpus),), index_dir=str(Path(args.index_root) / corpus))
        service = CitebotService(settings, embedder=embedder)
        embedder = service.embedder
        started = time.perf_counter()
        report = service.reindex(rebuild=args.rebuild)
        print(f"{corpus}: {report.documents} documents, {report.passages} passages, "
              f"{len(report.skipped)} skipped, built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        for split in runs:
            questions = load_eval_file(str(SHARED / f"{corpus}.yaml"), {"split": split})
            runs[split].append((f"{corpus} {split}", run_eval(service, questions)))
    print("| set | hit@1 (95% interval) | hit@3 | top excerpt chars | highlight F1 | unanswerable declined "
          "| wrongly declined | p50 ms |")
    print("|---|---|---|---|---|---|---|---|")
    for split, results in runs.items():
        for name, result in results:
            print(row(name, result))
        print(row(f"all five {split}", _merge([r for _, r in results])))


if __name__ == "__main__":
    main()
