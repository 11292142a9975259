"""Which sentence answers: a small linear model over plain features of each candidate sentence.

The weights are fitted by bench/tune.py (logistic regression) on the tuning split only and
stored in bot/data/ranking.json, so the product needs no training library. The output is a
probability that the sentence holds the answer; the abstention threshold is set on the same
scale. There is deliberately no feature telling a front-matter field from a sentence: the
training data has no fields, so such a weight would only learn that fields appear among the
negatives.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from bot.answering.linear import DATA_DIR, LinearModel, load_linear_model

RANKING_FILE = DATA_DIR / "ranking.json"

FEATURES = (
    "sentence_cos",  # cosine(question, sentence vector pooled in context)
    "passage_cos",  # cosine(question, passage)
    "coverage",  # IDF-weighted share of question terms in the quoted text (+ title)
    "typed",  # an answer of the asked-for type stands near the question words
    "passage_rank",  # 1 / (1 + rank of the passage in the fused search)
    "passage_bm25",  # the passage's BM25 score over the best BM25 score among hits
    "prev_coverage",  # coverage of the sentence before (the answer often follows the match)
    "next_coverage",  # coverage of the sentence after
    "novelty",  # share of the sentence's words the question does not already say
    "length",  # log of the sentence length
    "sentence_cos_gap",  # sentence_cos minus the best sentence_cos among candidates
    "coverage_gap",  # coverage minus the best coverage among candidates
    "pair",  # the candidate quotes two sentences
    "phrase",  # share of the question's adjacent word pairs found adjacent in the text
    "exact",  # share of the question's words found in the same form, not only the same stem
)

_GAPS = {"sentence_cos_gap": "sentence_cos", "coverage_gap": "coverage"}


@lru_cache(maxsize=1)
def ranking_model() -> tuple[LinearModel, float]:
    """The fitted ranking model, and the lowest sentence cosine a quote may have (fitted with it:
    no quote whose meaning is this far from the question, however many words it shares)."""
    model, fitted = load_linear_model(RANKING_FILE, FEATURES)
    return model, float(fitted["min_similarity"])


def with_gaps(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Add the features relative to the best candidate."""
    for gap, base in _GAPS.items():
        column = columns[base]
        columns[gap] = column - column.max() if len(column) else column
    return columns
