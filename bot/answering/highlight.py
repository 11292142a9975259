"""The answer span inside a quoted excerpt: short word runs scored by a small linear model.

Candidates are runs of one to six words of the excerpt, within one sentence; features say
whether the run is of the kind the question asks for (a date for "when", a number for "how
many", a name for "who"), how close it stands to the words the question and excerpt share,
whether it repeats the question, and whether it sits at a natural phrase boundary (function
words, verbs, punctuation, and the part-of-speech tags and noun-phrase chunks of
tagging.py). Weights are fitted by bench/tune_highlight.py on the tuning split and stored in
bot/data/highlight.json. The span is
always inside the excerpt; nothing is added.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from functools import lru_cache

import numpy as np
from bm25s.stopwords import STOPWORDS_EN_PLUS

from bot.answering.linear import DATA_DIR, LinearModel, load_linear_model
from bot.answering.question import KINDS, Question
from bot.answering.spans import typed_spans
from bot.answering.tagging import TAG_CLASSES, tag_words
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
# Function words (a phrase seldom begins or ends with one) and words that act as verbs: with
# no parser, these mark where a noun phrase, most answers' shape, can start and stop.
_FUNCTION_WORDS = frozenset(STOPWORDS_EN_PLUS) | _EDGE_WORDS
_VERBS = frozenset(
    "is was are were be been being has have had do does did become became made make makes took take takes "
    "gave give gives used use uses said says called named known".split()
)

FEATURES = (
    "words", "inverse_words", "question_share", "any_question_word", "capitalised", "digit",
    "typed_overlap", "typed_exact", "anchor_distance", "anchor_adjacent", "after_anchor",
    "punctuation_to_anchor", "inner_punctuation", "left_boundary", "right_boundary",
    "anchor_just_before", "anchor_just_after", "anchors_nearby", "cue_before", "sentence_start",
    "focus_in_span", "window_share",
    "starts_with_function_word", "ends_with_function_word", "inner_function_words", "has_verb",
    "cuts_name_after", "cuts_name_before", "mixed_case", "all_capitalised", "after_verb", "before_verb",
    "whole_chunk", "inside_chunk", "cuts_chunk", "chunks",
    *(f"{k}_capitalised" for k in KINDS), *(f"{k}_digit" for k in KINDS), *(f"{k}_words" for k in KINDS),
    # From the part-of-speech tagger (bot/answering/tagging.py): the run's first and last words, the words
    # just outside it, and how it lines up with the tagger's noun-phrase chunks.
    *(f"first_{c}" for c in TAG_CLASSES), *(f"last_{c}" for c in TAG_CLASSES),
    *(f"before_{c}" for c in TAG_CLASSES), "before_break", *(f"after_{c}" for c in TAG_CLASSES), "after_break",
    "noun_phrase", "whole_noun_phrase", "in_one_noun_phrase", "starts_noun_phrase", "ends_noun_phrase",
    "noun_share", "tagged_verb", "tagged_chunks",
)

HIGHLIGHT_FILE = DATA_DIR / "highlight.json"


@lru_cache(maxsize=1)
def span_model() -> LinearModel:
    """The span model fitted by bench/tune_highlight.py on the tuning split (see docs/benchmarks.md)."""
    return load_linear_model(HIGHLIGHT_FILE, FEATURES)[0]


# With the trained reader (bot/answering/reader.py): its log-probabilities that the answer starts at the
# run's first word and ends at its last. The weights of this model live with the reader's.
READER_ONLY = ("reader_start", "reader_end", "reader_span")
READER_FEATURES = (*FEATURES, *READER_ONLY)
_FEATURE_SET = frozenset(FEATURES)


class WordReader(Protocol):
    """A reader: per word of a text, log P(answer starts here) and log P(answer ends here)."""

    @property
    def span_model(self) -> LinearModel: ...

    def word_log_probabilities(self, question: str, text: str, word_starts: np.ndarray,
                               word_ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


@dataclass(frozen=True)
class SpanCandidate:
    start: int
    end: int
    features: tuple[float, ...]


def span_candidates(question: Question, text: str) -> list[SpanCandidate]:
    starts, ends, matrix = span_features(question, text)
    return [SpanCandidate(a, b, tuple(row)) for a, b, row in zip(starts.tolist(), ends.tolist(), matrix.tolist())]


def span_features(question: Question, text: str,
                  features: Sequence[str] = FEATURES) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start and end offsets of every candidate run, and its features as a matrix, columns in the
    order `features` names them.

    Per-token facts are computed once (and cached per text: they do not depend on the
    question); each run's features are then array look-ups and prefix-sum differences over all
    runs at once.
    """
    kind = question.kind
    asked = question.term_set
    focus = question.focus
    text_tokens = _tokens(text)
    count = len(text_tokens.stems)
    empty = np.zeros(0, dtype=np.int64)
    if not count:
        return empty, empty, np.zeros((0, len(features)))
    stems = text_tokens.stems
    tok_start, tok_end, edge = text_tokens.start, text_tokens.end, text_tokens.edge
    punct_after, stop_after, cue_before = text_tokens.punct_after, text_tokens.stop_after, text_tokens.cue_before
    anchor = np.array([bool(st) and st in asked for st in stems])
    in_focus = np.array([bool(st) and st in focus for st in stems])

    anchor_sum, focus_sum = _prefix(anchor), _prefix(in_focus)
    punct_sum, capital_sum, digit_sum = text_tokens.punct_sum, text_tokens.capital_sum, text_tokens.digit_sum
    positions = np.arange(count)
    anchor_at = np.where(anchor, positions, -1)
    previous_anchor = np.concatenate([[-1], np.maximum.accumulate(anchor_at)[:-1]])  # nearest anchor before k
    later = np.where(anchor, positions, count)
    next_anchor = np.concatenate([np.minimum.accumulate(later[::-1])[::-1][1:], [count]])  # nearest after k
    # The question's distinct stems in the 8 tokens before a position and the 8 after it, as bit sets.
    bit = {st: 1 << n for n, st in enumerate(sorted(asked)[:63])}
    token_bits = np.array([bit.get(st, 0) for st in stems], dtype=np.int64)
    bits_before = np.zeros(count, dtype=np.int64)
    bits_after = np.zeros(count, dtype=np.int64)
    for shift in range(1, min(8, count - 1) + 1):
        bits_before[shift:] |= token_bits[:-shift]
        bits_after[:-shift] |= token_bits[shift:]

    first, last = np.meshgrid(positions, np.arange(MAX_WORDS), indexing="ij")
    last = first + last
    runs = (last < count)
    runs[runs] &= ~edge[first[runs]] & ~edge[last[runs]]
    # A phrase does not run on past the end of a sentence.
    runs[runs] &= text_tokens.stop_sum[last[runs]] == text_tokens.stop_sum[first[runs]]
    i, j = first[runs], last[runs]  # in (i, j) order, as the runs read left to right
    n = j - i + 1
    inside = anchor_sum[j + 1] - anchor_sum[i]
    keep = inside != n  # the question's own words are no answer
    i, j, n, inside = i[keep], j[keep], n[keep], inside[keep]
    start, end = tok_start[i], tok_end[j]

    def anchors_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:  # anchors among tokens a..b-1
        return anchor_sum[np.clip(b, 0, count)] - anchor_sum[np.clip(a, 0, count)]

    capitalised = (capital_sum[j + 1] - capital_sum[i]) / n
    digit = (digit_sum[j + 1] > digit_sum[i]).astype(float)
    typed = typed_spans(text, kind) if kind != "other" else []
    overlap = np.zeros(len(i), dtype=np.int64)
    exact = np.zeros(len(i), dtype=bool)
    if typed:
        overlap = np.max([np.minimum(end, b) - np.maximum(start, a) for a, b in typed], axis=0)
        for a, b in typed:
            exact |= (start == a) & (end == b)
    before, after_ = previous_anchor[i], next_anchor[j]
    d_before = np.where(before >= 0, i - before, 99)
    d_after = np.where(after_ < count, after_ - j, 99)
    near = np.minimum(d_before, d_after) < 99
    from_before = near & (d_before <= d_after)
    from_after = near & ~(d_before <= d_after)
    distance = np.where(from_before, d_before, np.where(from_after, d_after, 40))
    between = np.where(
        from_before, punct_sum[i] - punct_sum[np.maximum(before, 0)] > 0,
        np.where(from_after, punct_sum[np.minimum(after_, count)] - punct_sum[j] > 0, True),
    ).astype(float)
    previous = np.maximum(i - 1, 0)
    following = np.minimum(j + 1, count - 1)
    window = bits_before[i] | bits_after[j]
    columns = [
        n / MAX_WORDS, 1.0 / n, inside / n, (inside > 0).astype(float), capitalised, digit,
        np.maximum(0, overlap) / (end - start), exact.astype(float),
        _LOG1P[distance], (distance <= 2).astype(float), from_before.astype(float), between,
        (punct_sum[j] - punct_sum[i] > 0).astype(float),
        ((i == 0) | edge[previous] | punct_after[previous]).astype(float),
        ((j == count - 1) | edge[following] | punct_after[j] | stop_after[j]).astype(float),
        (anchors_between(i - 2, i) > 0).astype(float), (anchors_between(j + 1, j + 3) > 0).astype(float),
        (anchors_between(i - 5, i) + anchors_between(j + 1, j + 6)) / 5,
        cue_before[i].astype(float), ((i == 0) | stop_after[previous]).astype(float),
        (focus_sum[j + 1] - focus_sum[i] > 0).astype(float),
        np.bitwise_count(window) / len(asked) if asked else np.zeros(len(i)),
    ]
    tt = text_tokens
    content = n - (tt.function_sum[j + 1] - tt.function_sum[i])
    capital_content = tt.capital_content_sum[j + 1] - tt.capital_content_sum[i]
    one_chunk = (tt.chunk[i] >= 0) & (tt.chunk[i] == tt.chunk[j])
    whole_chunk = one_chunk & (tt.chunk_first[i] == i) & (tt.chunk_last[j] == j)
    chunks = tt.chunk_begin_sum[j + 1] - tt.chunk_begin_sum[i + 1] + (tt.chunk[i] >= 0)
    has_previous, has_next = i > 0, j + 1 < count
    columns += [
        tt.function[i].astype(float), tt.function[j].astype(float),
        np.where(j > i, tt.function_sum[j] - tt.function_sum[np.minimum(i + 1, j)], 0) / n,
        (tt.verb_sum[j + 1] > tt.verb_sum[i]).astype(float),
        (tt.capital[j] & has_next & tt.capital[following] & ~punct_after[j]).astype(float),
        (tt.capital[i] & has_previous & tt.capital[previous] & ~punct_after[previous] & ~stop_after[previous]).astype(float),
        ((capital_content > 0) & (capital_content < content)).astype(float),
        ((content > 0) & (capital_content == content)).astype(float),
        (has_previous & tt.verb[previous]).astype(float), (has_next & tt.verb[following]).astype(float),
        whole_chunk.astype(float), (one_chunk & ~whole_chunk).astype(float),
        (((tt.chunk[i] >= 0) & (tt.chunk_first[i] < i)) | ((tt.chunk[j] >= 0) & (tt.chunk_last[j] > j))).astype(float),
        chunks / 3.0,
    ]
    zero = np.zeros(len(i))
    for values in (capitalised, digit, n / MAX_WORDS):
        columns.extend(values if kind == k else zero for k in KINDS)
    classes = _CLASS_ROWS[tt.tag_class]  # words x classes, one-hot
    # The word just outside the run, or a break: the text's edge or punctuation between.
    outside = np.zeros((1, len(TAG_CLASSES)))
    break_before = ~has_previous | punct_after[previous]
    break_after = ~has_next | punct_after[j]
    columns += [*classes[i].T, *classes[j].T,
                *np.where(break_before[:, None], outside, classes[previous]).T, break_before.astype(float),
                *np.where(break_after[:, None], outside, classes[following]).T, break_after.astype(float)]
    noun_phrase = tt.noun_phrase_sum[j + 1] - tt.noun_phrase_sum[i] == n
    one = tt.tag_chunk[i] == tt.tag_chunk[j]
    starts_chunk, ends_chunk = tt.tag_chunk_starts[i], tt.tag_chunk_ends[j]
    columns += [
        noun_phrase.astype(float), (noun_phrase & one & starts_chunk & ends_chunk).astype(float),
        (noun_phrase & one).astype(float), (starts_chunk & tt.noun_phrase[i]).astype(float),
        (ends_chunk & tt.noun_phrase[j]).astype(float), (tt.noun_sum[j + 1] - tt.noun_sum[i]) / n,
        (tt.tagged_verb_sum[j + 1] > tt.tagged_verb_sum[i]).astype(float),
        (tt.tag_chunk[j] - tt.tag_chunk[i]) / 3.0,
    ]
    named = dict(zip(FEATURES, columns, strict=True))
    return start, end, np.column_stack([named[name] for name in features]).astype(float)


_CLASS_ROWS = np.eye(len(TAG_CLASSES))
_NOUN_CLASSES = [TAG_CLASSES.index(c) for c in ("NN", "NNP", "CD")]
_PUNCTUATION_MARK = re.compile(r"[^\w\s]")


_LOG1P = np.array([math.log1p(d) for d in range(100)])  # math's, so features match bench/tune_highlight.py fits


def _prefix(flags: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(flags, dtype=np.int64)])


@dataclass(frozen=True)
class _TextTokens:
    """What span features need of a text's words that does not depend on the question."""

    stems: tuple[str, ...]  # first term of each word, "" for a stop word
    start: np.ndarray
    end: np.ndarray
    edge: np.ndarray  # a word a span should not begin or end with
    cue_before: np.ndarray  # "called", "known as" … just before
    punct_after: np.ndarray  # punctuation between this word and the next
    stop_after: np.ndarray  # a sentence ends after this word
    capital: np.ndarray
    function: np.ndarray
    verb: np.ndarray
    chunk: np.ndarray  # number of the word's chunk (a run of other words between those), -1 for none
    chunk_first: np.ndarray  # first and last word of the word's chunk
    chunk_last: np.ndarray
    punct_sum: np.ndarray
    stop_sum: np.ndarray  # sentence ends after words 0..k-1
    capital_sum: np.ndarray
    digit_sum: np.ndarray
    function_sum: np.ndarray
    verb_sum: np.ndarray
    capital_content_sum: np.ndarray  # capitalised words that are not function words
    chunk_begin_sum: np.ndarray
    tag_class: np.ndarray  # from the part-of-speech tagger: bot/answering/tagging.py
    tag_chunk: np.ndarray
    tag_chunk_starts: np.ndarray
    tag_chunk_ends: np.ndarray
    noun_phrase: np.ndarray
    noun_phrase_sum: np.ndarray
    noun_sum: np.ndarray
    tagged_verb_sum: np.ndarray


def _chunks(breaks: np.ndarray, punct_after: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of words between function words, verbs and punctuation: a rough noun-phrase chunker."""
    count = len(breaks)
    chunk = np.full(count, -1, dtype=np.int64)
    first = np.arange(count)
    last = np.arange(count)
    number = -1
    for k in range(count):
        if breaks[k]:
            continue
        if k > 0 and chunk[k - 1] >= 0 and not punct_after[k - 1]:
            first[k] = first[k - 1]
        else:
            number += 1
        chunk[k] = number
    for k in range(count - 2, -1, -1):
        if chunk[k] >= 0 and chunk[k + 1] == chunk[k]:
            last[k] = last[k + 1]
    return chunk, first, last


@lru_cache(maxsize=4096)
def _tokens(text: str) -> _TextTokens:
    # Cached: the same excerpts come up for many questions.
    tokens = [(m.start(), m.end(), m.group(0)) for m in _TOKEN.finditer(text)]
    lowered = [w.lower() for _, _, w in tokens]
    gaps = [text[tokens[k][1]:tokens[k + 1][0]] for k in range(len(tokens) - 1)]
    punct_after = np.array([bool(_PUNCT_BETWEEN.search(g)) for g in gaps] + [True])  # before token k + 1
    capital = np.array([w[:1].isupper() for _, _, w in tokens], dtype=bool)
    function = np.array([w in _FUNCTION_WORDS for w in lowered], dtype=bool)
    verb = np.array([w[:1].islower() and (w in _VERBS or w.endswith(("ed", "ing"))) for _, _, w in tokens], dtype=bool)
    chunk, chunk_first, chunk_last = _chunks(function | verb, punct_after)
    stop_after = np.array([g.strip()[:1] in (".", "!", "?") for g in gaps] + [True])
    tags = tag_words([w for _, _, w in tokens],
                     [""] + ["".join(_PUNCTUATION_MARK.findall(g)) for g in gaps])
    tag_chunk = tags.chunk
    chunk_starts, chunk_ends = np.ones(len(tokens), dtype=bool), np.ones(len(tokens), dtype=bool)
    chunk_starts[1:] = chunk_ends[:-1] = tag_chunk[1:] != tag_chunk[:-1]
    facts = _TextTokens(
        stems=tuple((terms(w) or [""])[0] for _, _, w in tokens),
        start=np.array([a for a, _, _ in tokens], dtype=np.int64),
        end=np.array([b for _, b, _ in tokens], dtype=np.int64),
        edge=np.array([w in _EDGE_WORDS for w in lowered], dtype=bool),
        cue_before=np.array([k > 0 and lowered[k - 1] in _CUES for k in range(len(tokens))], dtype=bool),
        capital=capital,
        function=function,
        verb=verb,
        chunk=chunk,
        chunk_first=chunk_first,
        chunk_last=chunk_last,
        punct_after=punct_after,
        stop_after=stop_after,
        punct_sum=_prefix(punct_after),
        stop_sum=_prefix(stop_after),
        capital_sum=_prefix(capital),
        digit_sum=_prefix(np.array([any(ch.isdigit() for ch in w) for _, _, w in tokens], dtype=bool)),
        function_sum=_prefix(function),
        verb_sum=_prefix(verb),
        capital_content_sum=_prefix(capital & ~function),
        chunk_begin_sum=_prefix((chunk >= 0) & (chunk_first == np.arange(len(tokens)))),
        tag_class=tags.tag_class,
        tag_chunk=tag_chunk,
        tag_chunk_starts=chunk_starts,
        tag_chunk_ends=chunk_ends,
        noun_phrase=tags.noun_phrase,
        noun_phrase_sum=_prefix(tags.noun_phrase),
        noun_sum=_prefix(np.isin(tags.tag_class, _NOUN_CLASSES)),
        tagged_verb_sum=_prefix(tags.tag_class == TAG_CLASSES.index("VB")),
    )
    for value in vars(facts).values():
        if isinstance(value, np.ndarray):
            value.flags.writeable = False  # shared by every question that quotes this text
    return facts


def best_highlight(question: Question, text: str, model: LinearModel | None = None,
                   parts: Sequence[tuple[int, int]] | None = None,
                   reader: WordReader | None = None) -> tuple[int, int] | None:
    """The best-scoring run, kept to one of `parts` (offsets into text: the sentences of a
    two-sentence excerpt, a field's value) when given: a run wholly outside them (in a field's
    name) is not chosen, and one that runs on into the next sentence is cut back to the
    sentence holding most of it. With a reader, runs are scored by the reader's span model;
    without one, by `model` (default: the shipped span model)."""
    if reader is not None:
        model = reader.span_model
    model = model or span_model()
    base = [name for name in model.features if name in _FEATURE_SET]
    starts, ends, matrix = span_features(question, text, base)
    parts = parts or [(0, len(text))]
    overlaps = np.stack([np.minimum(ends, b) - np.maximum(starts, a) for a, b in parts])  # parts x runs
    allowed = overlaps.max(axis=0) > 0
    if not allowed.any():
        return None
    if reader is not None:
        named = dict(zip(base, matrix.T))
        named.update(zip(READER_ONLY, reader_features(reader, question, text, starts, ends).T))
        matrix = np.column_stack([named[name] for name in model.features])
    best = int(np.argmax(np.where(allowed, model.scores(matrix), -np.inf)))
    part_start, part_end = parts[int(np.argmax(overlaps[:, best]))]
    start, end = _whole_words(text, max(int(starts[best]), part_start), min(int(ends[best]), part_end))
    # A date or quantity is shown whole ("4 May 1901", not "4 May").
    kind = question.kind
    if kind in ("date", "quantity"):
        for a, b in typed_spans(text, kind):
            if a < end and start < b and part_start <= a and b <= part_end:
                start, end = min(start, a), max(end, b)
    return start, end


def reader_features(reader: WordReader, question: Question, text: str, starts: np.ndarray,
                    ends: np.ndarray) -> np.ndarray:
    """The reader's columns of READER_FEATURES for runs with these start and end offsets."""
    words = _tokens(text)
    start_lp, end_lp = reader.word_log_probabilities(question.text, text, words.start, words.end)
    first, last = np.searchsorted(words.start, starts), np.searchsorted(words.end, ends)
    return np.column_stack([start_lp[first], end_lp[last], start_lp[first] + end_lp[last]])


def _whole_words(text: str, start: int, end: int) -> tuple[int, int]:
    """start..end narrowed to the words wholly inside it (a cut run keeps no stray punctuation)."""
    tokens = _tokens(text)
    inside = np.flatnonzero((tokens.start >= start) & (tokens.end <= end))
    return (int(tokens.start[inside[0]]), int(tokens.end[inside[-1]])) if len(inside) else (start, end)
