"""Which sentence answers: a small linear model over plain features of each candidate sentence.

The weights are fitted by bench/tune.py (logistic regression) on the tuning split only and
pasted here, so the product needs no training library. The output is a probability that the
sentence holds the answer; the abstention threshold is set on the same scale. There is deliberately no feature telling a
front-matter field from a sentence: the training data has no fields, so such a weight would
only learn that fields appear among the negatives.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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

# Fitted by bench/tune.py on the tuning split (see docs/benchmarks.md).
WEIGHTS = (5.12, -2.136, 3.41, 0.383, 1.07, 1.127, -0.577, -1.274, -0.862, 0.515, 2.54, 0.643, -0.904, 1.043, 1.451)
BIAS = -8.325


@dataclass(frozen=True)
class LinearModel:
    """A fitted logistic regression: weights in feature order, and a bias."""

    weights: tuple[float, ...]
    bias: float

    def scores(self, rows: np.ndarray) -> np.ndarray:
        """The linear score of every row of an (n x features) matrix."""
        return rows @ np.asarray(self.weights) + self.bias if len(rows) else np.zeros(0)

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-np.clip(self.scores(rows), -30.0, 30.0)))


RANKING_MODEL = LinearModel(WEIGHTS, BIAS)


_GAPS = {"sentence_cos_gap": "sentence_cos", "coverage_gap": "coverage"}


def with_gaps(matrix: np.ndarray) -> np.ndarray:
    """Fill in (in place) the features relative to the best candidate of a candidates x FEATURES matrix."""
    if len(matrix):
        for gap, base in _GAPS.items():
            column = matrix[:, FEATURES.index(base)]
            matrix[:, FEATURES.index(gap)] = column - column.max()
    return matrix
