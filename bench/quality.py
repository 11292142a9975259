"""Answer quality on held-out data: the seed dev set and the odd-numbered XQuAD articles
(bench/tune.py fits on the even ones), plus abstention against the wrong index.

    python bench/quality.py
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import load_settings  # noqa: E402
from bot.evaluate import eval_settings, format_table, load_eval_file, run_eval  # noqa: E402
from bot.service import CitebotService  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "eval"


def main() -> None:
    base = load_settings()
    seeds = CitebotService(base)
    dev = load_eval_file(str(SHARED / "izium_dev.yaml"))
    xquad = load_eval_file(str(SHARED / "xquad" / "xquad.en.json"))
    held_out = replace(xquad, questions=tuple(q for q in xquad.questions if int(q.source[:3]) % 2 == 1))
    xq = CitebotService(eval_settings(base, xquad), embedder=seeds.embedder)
    runs = [
        ("seed dev set (held out)", run_eval(seeds, dev)),
        (f"XQuAD odd articles (held out, {len(held_out.questions)} questions)", run_eval(xq, held_out)),
        ("XQuAD held-out questions asked of seeds/ (all should be declined)", run_eval(seeds, held_out, negative=True)),
        ("dev questions asked of the XQuAD index (all should be declined)", run_eval(xq, dev, negative=True)),
    ]
    for title, result in runs:
        print(f"\n## {title}\n{format_table(result)}")


if __name__ == "__main__":
    main()
