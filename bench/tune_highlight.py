"""Fit the answer-span weights (bot/highlight.py) on the tuning split (even XQuAD articles).

Training rows are the candidate spans of top excerpts that contain the gold answer, labelled
by SQuAD token F1 with the gold answer (>= 0.5). Prints WEIGHTS and BIAS to paste.

    python bench/tune_highlight.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from bot.config import load_settings  # noqa: E402
from bot.evaluate import eval_settings, load_eval_file, token_f1  # noqa: E402
from bot.highlight import FEATURES, best_highlight, span_candidates  # noqa: E402
from bot.ranking import LinearModel  # noqa: E402
from bot.service import CitebotService  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "eval"


def main() -> None:
    base = load_settings()
    xquad = load_eval_file(str(SHARED / "xquad" / "xquad.en.json"))
    xq = CitebotService(eval_settings(base, xquad))
    xq.ensure_index()
    tune = [q for q in xquad.questions if int(q.source[:3]) % 2 == 0]
    tops = []
    for q in tune:
        answer = xq.ask(q.question)
        if answer.excerpts:
            tops.append((q, answer.excerpts[0].text))
    rows, labels = [], []
    for q, text in tops:
        if not any(a.lower() in text.lower() for a in q.answers):
            continue
        for c in span_candidates(q.question, text):
            f1 = max(token_f1(text[c.start:c.end], a) for a in q.answers)
            rows.append(c.features)
            labels.append(f1)
    # Spans are labelled by how well they match (F1 >= 0.5), weighted by that F1, so the best
    # matches count most.
    # Features are standardised for the fit (so one penalty suits them all), then the weights
    # are mapped back to raw features.
    y, x = np.array(labels), np.array(rows)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    fit = LogisticRegression(C=0.1, max_iter=5000).fit((x - mean) / scale, (y >= 0.5).astype(int),
                                                       sample_weight=np.where(y >= 0.5, y, 1.0))
    weights = fit.coef_[0] / scale
    model = LinearModel(tuple(round(float(w), 3) for w in weights),
                        round(float(fit.intercept_[0] - weights @ mean), 3))
    scores = []
    for q, text in tops:
        span = best_highlight(q.question, text, model)
        shown = text[span[0]:span[1]] if span else ""
        scores.append(max(token_f1(shown, a) for a in q.answers))
    scores += [0.0] * (len(tune) - len(tops))
    print(f"{len(rows)} candidate spans from {sum(1 for q, t in tops if any(a.lower() in t.lower() for a in q.answers))} excerpts")
    print(f"tuning split highlight F1 {100 * np.mean(scores):.1f} over {len(tune)} questions")
    print("WEIGHTS = (\n" + "".join(f"    {', '.join(map(str, model.weights[k:k + 12]))},\n"
                                   for k in range(0, len(model.weights), 12)) + ")")
    print(f"BIAS = {model.bias}")
    print("features:", ", ".join(FEATURES))


if __name__ == "__main__":
    main()
