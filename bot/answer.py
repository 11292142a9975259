"""Search hits -> an Answer made of verbatim, cited excerpts. Pure: no I/O, no Discord.

Every excerpt of kind "text" is document.text[start:end] exactly; nothing is reworded. When
no sentence scores high enough, the answer says the documents do not say, rather than
quoting something unrelated.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.spans import best_span, question_type, typed_spans
from index.search import Hit
from index.terms import terms

NOT_FOUND = "I couldn't find this in the documents."
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
    # Chosen by bench/tune.py on the tuning split (see docs/benchmarks.md).
    threshold: float = 0.30
    sentence_weight: float = 0.3
    passage_weight: float = 0.1
    overlap_weight: float = 0.6
    type_weight: float = 0.1  # bonus when the sentence holds the kind of answer asked for


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
    candidates = sorted(_candidates(question, hits, settings, term_weights or {}), key=lambda c: -c.score)
    if not candidates or candidates[0].score < settings.threshold:
        return Answer(question, False, NOT_FOUND, (), generation)
    chosen: list[_Candidate] = []
    for cand in candidates:
        if len(chosen) == settings.k or cand.score < settings.threshold:
            break
        if any(_overlaps(cand, c) for c in chosen):
            continue
        chosen.append(cand)
    kind = question_type(question)
    excerpts = tuple(_excerpt(c, n, question, kind) for n, c in enumerate(chosen, start=1))
    return Answer(question, True, "", excerpts, generation)


def _candidates(question: str, hits: Sequence[Hit], settings: AnswerSettings,
                term_weights: Mapping[str, float]) -> list[_Candidate]:
    wanted = {t: term_weights.get(t, 1.0) for t in terms(question)}
    total = sum(wanted.values())
    kind = question_type(question)
    found: list[_Candidate] = []
    for hit in hits:
        p = hit.passage
        # The title names what the whole document is about ("the town" in its sentences).
        context = set(terms(hit.document.title))
        if p.kind != "text":
            overlap = _coverage(wanted, total, context | set(terms(p.text)))
            typed = 1.0 if typed_spans(p.text, kind) else 0.0
            found.append(_Candidate(hit, 0, 0, _combine(hit.dense, hit.dense, overlap, typed, settings)))
            continue
        for i, (a, b) in enumerate(p.sentences):
            sentence = p.text[a - p.start:b - p.start]
            first = i - 1 if i > 0 and _NEEDS_PREVIOUS.match(sentence) else i
            quoted = p.text[p.sentences[first][0] - p.start:b - p.start]
            overlap = _coverage(wanted, total, context | set(terms(quoted)))
            typed = _typed_near_terms(sentence, kind, wanted)
            score = _combine(hit.sentence_scores[i], hit.dense, overlap, typed, settings)
            found.append(_Candidate(hit, first, i, score))
    return found


def _typed_near_terms(sentence: str, kind: str, wanted: Mapping[str, float]) -> float:
    """1 when an answer of the asked-for kind stands right next to a question word, fading with distance."""
    spans = typed_spans(sentence, kind)
    if not spans:
        return 0.0
    anchors = [m.start() for m in _WORD.finditer(sentence) if (terms(m.group(0)) or [""])[0] in wanted]
    if not anchors:
        return 0.25
    gap = min(max(0, a - b, s - a) for a in anchors for s, b in spans)
    return max(0.25, 1.0 / (1.0 + gap / 40.0))


def _combine(sentence: float, passage: float, overlap: float, typed: float, s: AnswerSettings) -> float:
    return (s.sentence_weight * sentence + s.passage_weight * passage + s.overlap_weight * overlap
            + s.type_weight * typed)


def _coverage(wanted: Mapping[str, float], total: float, present: set[str]) -> float:
    if not total:
        return 0.0
    return sum(w for t, w in wanted.items() if t in present) / total


def _overlaps(a: _Candidate, b: _Candidate) -> bool:
    if a.hit.passage.doc_path != b.hit.passage.doc_path:
        return False
    sa, sb = a.span, b.span
    if sa is None or sb is None:
        return a.hit.passage.text == b.hit.passage.text
    return sa[0] < sb[1] and sb[0] < sa[1]


def _excerpt(cand: _Candidate, n: int, question: str, kind: str) -> Excerpt:
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
    return Excerpt(text=text, kind=p.kind, score=cand.score, citation=citation,
                   highlight=best_span(question, text, kind))
