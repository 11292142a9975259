"""Choose the answer-layer weights and threshold by measurement, not by feel.

Searches once per question (search does not depend on these settings), then scores every
combination on the TUNING split only: the seed dev set plus XQuAD articles with an even
index, with the matching negatives (XQuAD questions against the seeds index, seed questions
against the XQuAD index). Odd XQuAD articles are held out for reporting (bench/quality.py).

    python bench/tune.py
"""

from __future__ import annotations

import itertools
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.answer import AnswerSettings, answer_question  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.evaluate import first_hit_rank, eval_settings, load_eval_file  # noqa: E402
from bot.service import CitebotService  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "eval"


def split(questions, even: bool):
    return [q for q in questions if (int(q.source[:3]) % 2 == 0) == even]


def searched(service, questions, negative=False):
    out = []
    for q in questions:
        r = service.searcher.search(q.question, k=9)
        out.append((replace(q, answers=()) if negative else q, r))
    return out


def main() -> None:
    base = load_settings()
    seeds = CitebotService(base)
    seeds.ensure_index()
    dev = load_eval_file(str(SHARED / "izium_dev.yaml"))
    xquad = load_eval_file(str(SHARED / "xquad" / "xquad.en.json"))
    xq_service = CitebotService(eval_settings(base, xquad), embedder=seeds.embedder)
    xq_service.ensure_index()
    tune_x = split(xquad.questions, even=True)
    sets = {
        "dev": searched(seeds, dev.questions),
        "xquad": searched(xq_service, tune_x),
        "xquad-vs-seeds": searched(seeds, tune_x, negative=True),
        "dev-vs-xquad": searched(xq_service, [q for q in dev.questions if q.answerable], negative=True),
    }
    grid = itertools.product([0.2, 0.3, 0.45], [0.0, 0.1, 0.25], [0.45, 0.6, 0.8, 1.0], [0.0, 0.05, 0.1, 0.2])
    results = []
    for sw, pw, ow, tw in grid:
        s = AnswerSettings(k=3, threshold=0.0, sentence_weight=sw, passage_weight=pw, overlap_weight=ow, type_weight=tw)
        tops = {}
        for name, items in sets.items():
            tops[name] = []
            for q, r in items:
                a = answer_question(q.question, r.hits, s, r.generation, r.term_weights)
                tops[name].append((q, a, a.excerpts[0].score if a.excerpts else 0.0))
        # Threshold: the lowest that declines >= 95% of tuning negatives.
        neg = sorted(sc for name in ("xquad-vs-seeds", "dev-vs-xquad") for _, _, sc in tops[name])
        neg += [sc for q, _, sc in tops["dev"] if not q.answerable]
        neg.sort()
        threshold = neg[int(0.97 * (len(neg) - 1))] + 1e-4
        dev_hits = sum(first_hit_rank(a, q) == 1 and sc >= threshold for q, a, sc in tops["dev"] if q.answerable)
        dev_neg = all(sc < threshold for q, _, sc in tops["dev"] if not q.answerable)
        xq_hits = sum(first_hit_rank(a, q) == 1 and sc >= threshold for q, a, sc in tops["xquad"])
        xq_declined = sum(sc < threshold for _, _, sc in tops["xquad"])
        results.append((xq_hits / len(tops["xquad"]) + dev_hits / 14, dev_hits, dev_neg, xq_hits / len(tops["xquad"]),
                        xq_declined / len(tops["xquad"]), threshold, (sw, pw, ow, tw)))
    results.sort(key=lambda r: -r[0])
    print("objective dev_hit@1 dev_neg_ok xquad_hit@1 xquad_wrongly_declined threshold (sentence, passage, overlap, type)")
    for r in results[:15]:
        print(f"{r[0]:.3f} {r[1]:>2}/14 {r[2]!s:>5} {r[3]:.3f} {r[4]:.3f} {r[5]:.3f} {r[6]}")


if __name__ == "__main__":
    main()
