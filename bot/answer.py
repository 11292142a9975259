"""Search hits -> an Answer made of verbatim, cited excerpts. Pure: no I/O, no Discord.

Every excerpt of kind "text" is document.text[start:end] exactly; nothing is reworded. When
no sentence scores high enough, the answer says the documents do not say, rather than
quoting something unrelated.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from bot.ranking import RANKING_MODEL, LinearModel, with_gaps
from bot.highlight import best_highlight
from bot.spans import answer_spans, question_type
from index.search import Hit
from index.terms import terms, words

NOT_FOUND = "I couldn't find this in the documents."
SECOND_SOURCE_SHARE = 0.5  # another document's excerpt is shown if it scores at least this share of the best
SECTION_SEPARATOR = " › "

_WORD = re.compile(r"\w+")

# A sentence opening like this leans on the one before it, so both are quoted.
_NEEDS_PREVIOUS = re.compile(
    r"^(?:the\s+(?:following|next|previous|same)\s+\w+|\w+\s+(?:days?|weeks?|months?|years?)\s+later"
    r"|he|she|it|they|this|these|those|that|his|her|its|their|however|but|also|meanwhile|then"
    r"|there|later|afterwards|eventually|during\s+this)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class AnswerSettings:
    k: int = 3
    threshold: float = 0.08  # on the model's probability scale; chosen by bench/tune.py
    # No quote whose meaning is this far from the question, however many words it shares
    # ("capital" of Ukraine for a question about Australia); chosen by bench/tune.py.
    min_similarity: float = 0.307
    model: LinearModel = RANKING_MODEL


@dataclass(frozen=True)
class Citation:
    n: int
    path: str  # relative to its docs folder
    file: str  # docs folder + path, as shown to people
    title: str
    section: str
    author: str
    start: int | None
    end: int | None


@dataclass(frozen=True)
class Excerpt:
    text: str
    kind: str  # "text" (verbatim from the document body) or "field" (a front-matter fact)
    score: float
    citation: Citation
    highlight: tuple[int, int] | None = None  # offsets into text


@dataclass(frozen=True)
class Answer:
    question: str
    answered: bool
    message: str
    excerpts: tuple[Excerpt, ...]
    generation: int = 0

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "answered": self.answered,
            "message": self.message,
            "excerpts": [
                {
                    "text": e.text,
                    "kind": e.kind,
                    "score": round(e.score, 4),
                    "highlight": list(e.highlight) if e.highlight else None,
                    "citation": {
                        "n": e.citation.n, "path": e.citation.path, "file": e.citation.file,
                        "title": e.citation.title, "section": e.citation.section,
                        "author": e.citation.author, "start": e.citation.start, "end": e.citation.end,
                    },
                }
                for e in self.excerpts
            ],
        }


@dataclass(frozen=True)
class _Candidate:
    hit: Hit
    first: int  # index of the first sentence quoted (text kind)
    last: int
    score: float

    @property
    def span(self) -> tuple[int, int] | None:
        p = self.hit.passage
        if p.kind != "text":
            return None
        return p.sentences[self.first][0], p.sentences[self.last][1]


def answer_question(question: str, hits: Sequence[Hit], settings: AnswerSettings, generation: int = 0,
                    term_weights: Mapping[str, float] | None = None) -> Answer:
    candidates = sorted(score_candidates(question, hits, settings.model, term_weights or {}, settings.min_similarity),
                        key=lambda c: -c.score)
    if not candidates or candidates[0].score < settings.threshold:
        return Answer(question, False, NOT_FOUND, (), generation)
    chosen: list[_Candidate] = []
    for cand in candidates:
        if len(chosen) == settings.k or cand.score < settings.threshold:
            break
        if any(_overlaps(cand, c) for c in chosen):
            continue
        chosen.append(cand)
    chosen = _with_second_source(chosen, candidates, settings)
    excerpts = tuple(_excerpt(c, n, question) for n, c in enumerate(chosen, start=1))
    return Answer(question, True, "", excerpts, generation)


def score_candidates(question: str, hits: Sequence[Hit], model: LinearModel, term_weights: Mapping[str, float],
                     min_similarity: float = -1.0) -> list[_Candidate]:
    found, raw = candidate_features(question, hits, term_weights)
    probabilities = model.probabilities(with_gaps(raw)).tolist()
    return [
        replace(c, score=p if r["sentence_cos"] >= min_similarity else 0.0)
        for c, r, p in zip(found, raw, probabilities, strict=True)
    ]


def candidate_features(question: str, hits: Sequence[Hit], term_weights: Mapping[str, float]):
    """Every sentence, sentence pair or field of every hit, with its features (see bot/ranking.py)."""
    asked = _Question(question, term_weights)
    best_bm25 = max((h.lexical for h in hits), default=0.0) or 1.0
    found: list[_Candidate] = []
    raw: list[dict[str, float]] = []
    for rank, hit in enumerate(hits):
        p = hit.passage
        # The title names what the whole document is about ("the town" in its sentences).
        title_terms, title_words = set(terms(hit.document.title)), words(hit.document.title)
        shared = {"passage_cos": hit.dense, "passage_rank": 1.0 / (1 + rank), "passage_bm25": hit.lexical / best_bm25}
        if p.kind != "text":
            raw.append({**shared, **asked.features(hit.dense, p.text, terms(p.text), 0.0, 0.0, title_terms, title_words)})
            found.append(_Candidate(hit, 0, 0, 0.0))
            continue
        sentences = [p.text[a - p.start:b - p.start] for a, b in p.sentences]
        sentence_terms = [terms(x) for x in sentences]
        # Coverage of each sentence alone: a candidate's neighbours are looked up, not recomputed.
        sentence_coverage = [asked.coverage(set(t)) for t in sentence_terms]
        # Sentences in one paragraph may be quoted together; a blank line ends a paragraph.
        joined = [i > 0 and "\n\n" not in p.text[p.sentences[i - 1][1] - p.start:p.sentences[i][0] - p.start]
                  for i in range(len(sentences))]
        for i, sentence in enumerate(sentences):
            first = i - 1 if joined[i] and _NEEDS_PREVIOUS.match(sentence) else i
            # A sentence alone, or with the one after it: answers often follow the sentence
            # that matches the question ("… the oldest quarterback. The past record was held by …").
            for last in (i, i + 1) if i + 1 < len(sentences) and joined[i + 1] else (i,):
                quoted_text = p.text[p.sentences[first][0] - p.start:p.sentences[last][1] - p.start]
                quoted_terms = [t for j in range(first, last + 1) for t in sentence_terms[j]]
                before = sentence_coverage[first - 1] if first > 0 else 0.0
                after = sentence_coverage[last + 1] if last + 1 < len(sentences) else 0.0
                features = asked.features(max(hit.sentence_scores[i:last + 1]), quoted_text, quoted_terms,
                                          before, after, title_terms, title_words)
                raw.append({**shared, **features, "pair": float(last > i)})
                found.append(_Candidate(hit, first, last, 0.0))
    return found, raw


class _Question:
    """The question's terms, weights and type, and the features of a quote measured against them."""

    def __init__(self, question: str, term_weights: Mapping[str, float]):
        self.wanted = {t: term_weights.get(t, 1.0) for t in terms(question)}
        self.total = sum(self.wanted.values())
        self.kind = question_type(question)
        self.bigrams = _bigrams(terms(question))
        self.words = words(question)
        self.asked = frozenset(self.wanted)

    def coverage(self, present: set[str]) -> float:
        """IDF-weighted share of the question's terms that are present."""
        return sum(w for t, w in self.wanted.items() if t in present) / self.total if self.total else 0.0

    def features(self, cosine: float, text: str, text_terms: Sequence[str], before_coverage: float,
                 after_coverage: float, title_terms: set[str], title_words: set[str]) -> dict[str, float]:
        asked_in = sum(map(self.wanted.__contains__, text_terms))
        novel = (len(text_terms) - asked_in) / len(text_terms) if text_terms else 0.0
        return {
            "sentence_cos": cosine,
            "coverage": self.coverage(title_terms | set(text_terms)),
            "typed": _typed_nearness(text, self.kind, self.asked) if self.kind != "other" else 0.0,
            "prev_coverage": before_coverage,
            "next_coverage": after_coverage,
            "novelty": novel,
            "length": math.log1p(len(text)),
            "pair": 0.0,
            "phrase": len(self.bigrams & _bigrams(text_terms)) / len(self.bigrams) if self.bigrams else 0.0,
            "exact": len(self.words & (title_words | words(text))) / len(self.words) if self.words else 0.0,
        }


@lru_cache(maxsize=16384)
def _typed_nearness(text: str, kind: str, asked: frozenset[str]) -> float:
    """1 when a new answer of the asked-for kind stands right next to a question word, fading with distance."""
    spans = answer_spans(text, kind, asked)
    if not spans:
        return 0.0
    anchors = [m.start() for m in _WORD.finditer(text) if (terms(m.group(0)) or [""])[0] in asked]
    if not anchors:
        return 0.25
    gap = min(max(0, a - b, s - a) for a in anchors for s, b in spans)
    return max(0.25, 1.0 / (1.0 + gap / 40.0))


def _bigrams(items: Sequence[str]) -> set[tuple[str, str]]:
    return set(zip(items, items[1:]))


def _with_second_source(chosen: list[_Candidate], candidates: Sequence[_Candidate],
                        settings: AnswerSettings) -> list[_Candidate]:
    """When another document answers too, its best excerpt takes the last place: two sources
    saying the same thing are worth more than a third excerpt from one."""
    documents = {c.hit.passage.doc_path for c in chosen}
    if len(documents) > 1 or len(chosen) < 2:
        return chosen
    other = next((c for c in candidates if c.hit.passage.doc_path not in documents
                  and c.score >= max(settings.threshold, SECOND_SOURCE_SHARE * chosen[0].score)), None)
    return [*chosen[:settings.k - 1], other] if other else chosen


def _overlaps(a: _Candidate, b: _Candidate) -> bool:
    if a.hit.passage.doc_path != b.hit.passage.doc_path:
        return False
    sa, sb = a.span, b.span
    if sa is None or sb is None:
        return a.hit.passage.text == b.hit.passage.text
    return sa[0] < sb[1] and sb[0] < sa[1]


def _excerpt(cand: _Candidate, n: int, question: str) -> Excerpt:
    hit, p = cand.hit, cand.hit.passage
    span = cand.span
    if span is None:
        text, start, end = p.text, None, None
    else:
        start, end = span
        text = p.text[start - p.start:end - p.start]
    doc = hit.document
    citation = Citation(
        n=n, path=doc.relpath, file=doc.path, title=doc.title,
        section=SECTION_SEPARATOR.join(p.section), author=doc.author, start=start, end=end,
    )
    # Only the top excerpt gets its answer span marked: it is the one read first.
    return Excerpt(text=text, kind=p.kind, score=cand.score, citation=citation,
                   highlight=best_highlight(question, text) if n == 1 else None)
