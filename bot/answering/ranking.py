"""Which sentence answers: a small linear model over plain features of each candidate sentence.

The weights are fitted by bench/tune.py (logistic regression) on the tuning split only and
stored in bot/data/ranking.json, so the product needs no training library. The output is a
probability that the sentence holds the answer; the abstention threshold is set on the same
scale. There is deliberately no feature telling a front-matter field from a sentence: the
training data has no fields, so such a weight would only learn that fields appear among the
negatives.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from bot.answering.linear import DATA_DIR, LinearModel, load_linear_model
from index.errors import WeightsError

RANKING_FILE = DATA_DIR / "ranking.json"

FEATURES = (
    "sentence_cos",  # cosine(question, sentence vector pooled in context)
    "passage_cos",  # cosine(question, passage)
    "coverage",  # IDF-weighted share of question terms in the quoted text (+ title)
    "typed",  # an answer of the asked-for type stands near the question words
    "passage_rank",  # 1 / (1 + rank of the passage in the fused search)
    "passage_fused",  # the passage's fused search score over the best one's (close seconds stay close)
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
    "heading_coverage",  # IDF-weighted share of question terms in the headings over the text
    "opens_passage",  # the run starts its passage (the text right under a heading, often)
    "has_code",  # the run quotes a code block
    "has_item",  # the run quotes a list item
    "leads_on",  # the run starts with a sentence ending in a colon and quotes what it introduces
    "inline_code",  # the run holds code: a code block or inline code markup
    "how_code",  # inline_code, for a question after a way of doing something
    "instruction",  # the run reads as an instruction ("use …", "you can pass …", "to do so, call …")
    "how_instruction",  # instruction, for a question after a way of doing something
    "why_cause",  # the run gives a reason ("because", "due to"), for a question asking why
    "run_cos",  # mean cosine(question, sentence) over the run's sentences
    "event_to_patient",  # "when was X rebuilt": the run tells of it happening to X (or "the town", "it")
    "event_to_other",  # … of the same event happening to something else ("rebuilt three houses")
)

_GAPS = {"sentence_cos_gap": "sentence_cos", "coverage_gap": "coverage"}


@dataclass(frozen=True)
class Ranking:
    """The fitted ranking model and the two numbers calibrated with it."""

    model: LinearModel
    min_similarity: float  # no quote whose meaning is this far from the question, however many words it shares
    threshold: float  # the lowest score that counts as an answer: declines 97% of the tuning negatives
    # How much the reader's answerability counts against this model's log-odds when it
    # re-orders the excerpts (bot/answering/reader.py); None: the weight stored with the reader.
    reader_weight: float | None = None


@lru_cache(maxsize=1)
def ranking_model() -> Ranking:
    model, fitted = load_linear_model(RANKING_FILE, FEATURES)
    try:
        weight = fitted.get("reader_weight")
        return Ranking(model, float(fitted["min_similarity"]), float(fitted["threshold"]),
                       None if weight is None else float(weight))
    except (KeyError, TypeError, ValueError) as err:
        raise WeightsError(f"{RANKING_FILE}: lacks a fitted number ({err}); refit it with bench/tune.py") from None


def with_gaps(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Add the features relative to the best candidate."""
    for gap, base in _GAPS.items():
        column = columns[base]
        columns[gap] = column - column.max() if len(column) else column
    return columns
