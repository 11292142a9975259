"""Fit the answer-span weights (bot/answering/highlight.py) on the tuning split (even XQuAD articles).

Training rows are the candidate spans of top excerpts that contain the gold answer, labelled
by SQuAD token F1 with the gold answer (>= 0.5). Prints the tuning split's F1 two ways: in
sample, and cross-validated (fitted on three quarters of its articles, scored on the rest, four
ways round), which is the figure to compare feature sets by. Writes bot/data/highlight.json.

    python bench/tune_highlight.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from bot.answering.question import read_question  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.evaluate import eval_settings, load_eval_file, token_f1  # noqa: E402
from bot.answering.highlight import FEATURES, HIGHLIGHT_FILE, best_highlight, span_candidates  # noqa: E402
from bot.answering.linear import LinearModel, save_linear_model  # noqa: E402
from bot.service import CitebotService  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "eval"
PENALTY = 0.1  # inverse regularisation strength on standardised features
FOLDS = 4  # cross-validation folds, by article


def fit(tops) -> LinearModel:
    """Spans are labelled by how well they match (F1 >= 0.5), weighted by that F1, so the best
    matches count most. Features are standardised for the fit (so one penalty suits them all),
    then the weights are mapped back to raw features."""
    rows, labels = [], []
    for q, text in tops:
        if not any(a.lower() in text.lower() for a in q.answers):
            continue
        for c in span_candidates(read_question(q.question), text):
            rows.append(c.features)
            labels.append(max(token_f1(text[c.start:c.end], a) for a in q.answers))
    y, x = np.array(labels), np.array(rows)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    model = LogisticRegression(C=PENALTY, max_iter=5000).fit((x - mean) / scale, (y >= 0.5).astype(int),
                                                             sample_weight=np.where(y >= 0.5, y, 1.0))
    weights = model.coef_[0] / scale
    return LinearModel(tuple(round(float(w), 3) for w in weights), round(float(model.intercept_[0] - weights @ mean), 3),
                       FEATURES)


def f1_scores(tops, model: LinearModel) -> list[float]:
    scores = []
    for q, text in tops:
        span = best_highlight(read_question(q.question), text, model)
        shown = text[span[0]:span[1]] if span else ""
        scores.append(max(token_f1(shown, a) for a in q.answers))
    return scores


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
    misses = [0.0] * (len(tune) - len(tops))  # no excerpt: no highlight
    crossed = []
    for fold in range(FOLDS):
        held = [t for t in tops if int(t[0].source[:3]) // 2 % FOLDS == fold]
        crossed += f1_scores(held, fit([t for t in tops if int(t[0].source[:3]) // 2 % FOLDS != fold]))
    model = fit(tops)
    in_sample = f1_scores(tops, model)
    print(f"tuning split highlight F1 over {len(tune)} questions: in sample {100 * np.mean(in_sample + misses):.1f}, "
          f"cross-validated {100 * np.mean(crossed + misses):.1f}")
    save_linear_model(HIGHLIGHT_FILE, model, about="The answer span inside an excerpt: logistic regression over "
                      "word runs, fitted by bench/tune_highlight.py on the tuning split (even XQuAD articles); "
                      "see docs/benchmarks.md.")
    print(f"wrote {HIGHLIGHT_FILE}")


if __name__ == "__main__":
    main()
