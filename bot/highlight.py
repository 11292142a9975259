"""The answer span inside a quoted excerpt: short word runs scored by a small linear model.

Candidates are runs of one to six words of the excerpt; features say whether the run is of
the kind the question asks for (a date for "when", a number for "how many", a name for
"who"), how close it stands to the words the question and excerpt share, whether it repeats
the question, and whether it sits at a natural phrase boundary. Weights are fitted by
bench/tune.py on the tuning split. The span is always inside the excerpt; nothing is added.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from bot.ranking import LinearModel
from bot.spans import question_type, typed_spans
from index.terms import terms

MAX_WORDS = 6
_TOKEN = re.compile(r"\w+(?:[-'’.,/]\w+)*%?")
_EDGE_WORDS = frozenset(
    "a an the of and or in on at to for from by with as is was were are be been that which who whom whose "
    "this these those it its their his her they he she than then also but not".split()
)
_PUNCT_BETWEEN = re.compile(r"[,;:()\[\]—–]")
# Words after which a definition or name tends to follow ("known as X", "called X").
_CUES = frozenset("called named known termed as by include includes including such was is are were".split())
KINDS = ("date", "quantity", "name", "place", "other")

FEATURES = (
    "words", "inverse_words", "question_share", "any_question_word", "capitalised", "digit",
    "typed_overlap", "typed_exact", "anchor_distance", "anchor_adjacent", "after_anchor",
    "punctuation_to_anchor", "inner_punctuation", "left_boundary", "right_boundary",
    "anchor_just_before", "anchor_just_after", "anchors_nearby", "cue_before", "sentence_start",
    "focus_in_span", "window_share",
    *(f"{k}_capitalised" for k in KINDS), *(f"{k}_digit" for k in KINDS), *(f"{k}_words" for k in KINDS),
)

# Fitted by bench/tune.py on the tuning split (see docs/benchmarks.md).
WEIGHTS = (
    -1.056, -1.128, -1.539, 0.399, -0.048, 0.207, 2.262, -0.171, -0.306, 0.025, 0.166, -0.46,
    -0.018, 0.12, 0.323, -0.11, -0.092, 0.646, 0.434, 0.284, 0.959, 1.365, 0.205, -1.71, 0.406,
    -0.506, 1.557, 1.793, 0.568, -1.58, -0.509, -0.066, -1.506, -0.551, 0.081, 0.15, 0.77,
)
BIAS = -2.973


SPAN_MODEL = LinearModel(WEIGHTS, BIAS)


@dataclass(frozen=True)
class SpanCandidate:
    start: int
    end: int
    features: tuple[float, ...]


def span_candidates(question: str, text: str) -> list[SpanCandidate]:
    kind = question_type(question)
    asked = set(terms(question))
    focus = _focus_terms(question)
    tokens = [(m.start(), m.end(), m.group(0)) for m in _TOKEN.finditer(text)]
    count = len(tokens)
    if not count:
        return []
    # Per-token facts, computed once; each span's features are then sums and look-ups.
    lowered = [w.lower() for _, _, w in tokens]
    stems = [(terms(w) or [""])[0] for _, _, w in tokens]
    anchor = [bool(st) and st in asked for st in stems]
    edge = [w in _EDGE_WORDS for w in lowered]
    capital = [w[:1].isupper() for _, _, w in tokens]
    has_digit = [any(ch.isdigit() for ch in w) for _, _, w in tokens]
    # punct_after[k]: punctuation between token k and token k + 1
    punct_after = [bool(_PUNCT_BETWEEN.search(text[tokens[k][1]:tokens[k + 1][0]])) for k in range(count - 1)] + [True]
    stop_after = [text[tokens[k][1]:tokens[k + 1][0]].strip()[:1] in (".", "!", "?") for k in range(count - 1)] + [True]
    punct_prefix = [0]
    for flag in punct_after:
        punct_prefix.append(punct_prefix[-1] + flag)
    anchor_prefix = [0]
    for flag in anchor:
        anchor_prefix.append(anchor_prefix[-1] + flag)
    previous_anchor, last = [], None
    for k in range(count):
        previous_anchor.append(last)
        last = k if anchor[k] else last
    next_anchor, last = [None] * count, None
    for k in range(count - 1, -1, -1):
        next_anchor[k] = last
        last = k if anchor[k] else last
    typed = typed_spans(text, kind) if kind != "other" else []

    def anchors_between(a: int, b: int) -> int:  # anchors among tokens a..b-1
        return anchor_prefix[max(0, min(b, count))] - anchor_prefix[max(0, min(a, count))]

    found = []
    for i in range(count):
        if edge[i]:
            continue
        for j in range(i, min(count, i + MAX_WORDS)):
            if edge[j]:
                continue
            n = j - i + 1
            inside_anchors = anchors_between(i, j + 1)
            if inside_anchors == n:
                continue  # the question's own words are no answer
            start, end = tokens[i][0], tokens[j][1]
            capitalised = sum(capital[i:j + 1]) / n
            digit = float(any(has_digit[i:j + 1]))
            overlap = max((min(end, b) - max(start, a) for a, b in typed), default=0)
            before, after_ = previous_anchor[i], next_anchor[j]
            d_before = i - before if before is not None else 99
            d_after = after_ - j if after_ is not None else 99
            if min(d_before, d_after) < 99:
                if d_before <= d_after:
                    distance, after = d_before, 1.0
                    between = float(punct_prefix[i] - punct_prefix[before] > 0)
                else:
                    distance, after = d_after, 0.0
                    between = float(punct_prefix[after_] - punct_prefix[j] > 0)
            else:
                distance, between, after = 40, 1.0, 0.0
            window_stems = {stems[k] for k in range(max(0, i - 8), i)} | {stems[k] for k in range(j + 1, min(count, j + 9))}
            values = [
                n / MAX_WORDS, 1.0 / n, inside_anchors / n, float(inside_anchors > 0), capitalised, digit,
                max(0, overlap) / (end - start), float(any(a == start and b == end for a, b in typed)),
                math.log1p(distance), float(distance <= 2), after, between,
                float(punct_prefix[j] - punct_prefix[i] > 0),
                float(i == 0 or edge[i - 1] or punct_after[i - 1]),
                float(j == count - 1 or edge[j + 1] or punct_after[j] or stop_after[j]),
                float(anchors_between(i - 2, i) > 0), float(anchors_between(j + 1, j + 3) > 0),
                (anchors_between(i - 5, i) + anchors_between(j + 1, j + 6)) / 5,
                float(i > 0 and lowered[i - 1] in _CUES), float(i == 0 or stop_after[i - 1]),
                float(bool(focus.intersection(stems[i:j + 1]))),
                len(window_stems & asked) / len(asked) if asked else 0.0,
            ]
            for k in KINDS:
                values.append(capitalised if kind == k else 0.0)
            for k in KINDS:
                values.append(digit if kind == k else 0.0)
            for k in KINDS:
                values.append(n / MAX_WORDS if kind == k else 0.0)
            found.append(SpanCandidate(start, end, tuple(values)))
    return found


_WH = re.compile(r"\b(?:what|which|whose|how\s+many|how\s+much)\s+((?:\w+\s+){0,2}\w+)", re.IGNORECASE)


def _focus_terms(question: str) -> set[str]:
    """The noun a "which division"/"what player" question asks for: answers often name it."""
    m = _WH.search(question)
    return set(terms(m.group(1))) if m else set()


def best_highlight(question: str, text: str, model: LinearModel = SPAN_MODEL) -> tuple[int, int] | None:
    candidates = span_candidates(question, text)
    if not candidates:
        return None
    best = max(candidates, key=lambda c: model.score(c.features))
    start, end = best.start, best.end
    # A date or quantity is shown whole ("4 May 1901", not "4 May").
    for a, b in typed_spans(text, question_type(question)):
        if a < end and start < b and question_type(question) in ("date", "quantity"):
            start, end = min(start, a), max(end, b)
    return start, end
