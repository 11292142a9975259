"""Where answers of a kind (bot/answering/question.py) stand in a text.

Plain patterns, no model: dates for "when", quantities for "how many", capitalised names
for "who" and "where". Features of the sentence ranking (compose.py) and of the answer
span (highlight.py).
"""

from __future__ import annotations

import re
from functools import lru_cache

from index.terms import terms

_MONTH = (r"(?:January|February|March|April|May|June|July|August|September|October|November|December"
          r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.?")
_NUMBER_WORD = (r"(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen"
                r"|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy"
                r"|eighty|ninety|hundred|thousand|million|billion|trillion|dozen|several|half)")
_DATE = re.compile(
    rf"\b(?:(?:early|mid|late)[- ])?(?:\d{{1,2}}(?:st|nd|rd|th)?\s+(?:and\s+\d{{1,2}}\s+)?{_MONTH}(?:,?\s+\d{{3,4}})?"
    rf"|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?\b(?:,?\s+\d{{3,4}})?"
    rf"|{_MONTH}\s+(?:of\s+)?\d{{4}}"
    rf"|(?:early|mid|late)[- ]{_MONTH}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)\s+century|\d{{3,4}}s"
    rf"|(?:in|since|by|from|until|before|after|during)\s+\d{{3,4}}\b"
    rf"|\b(?:1[0-9]|20)\d{{2}}\b"
    rf"|(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)(?:\s+(?:night|morning|evening))?)",
    re.IGNORECASE,
)
_QUANTITY = re.compile(
    rf"(?:\b(?:about|around|over|more than|less than|nearly|almost|some|up to|at least)\s+)?"
    rf"(?:[$£€]\s?)?(?:\d[\d,.]*\d|\d)(?:\+|\s?%|\s(?:percent|per cent|million|billion|thousand|hundred))?"
    rf"|\b{_NUMBER_WORD}(?:[- ]{_NUMBER_WORD})*\b",
    re.IGNORECASE,
)
_LEADING_PREPOSITION = re.compile(r"(?:in|since|by|from|until|before|after|during)\s+(?=\d)", re.IGNORECASE)
_NAME = re.compile(r"\b[A-Z][\w'’.-]*(?:\s+(?:of|the|de|von|van|al|and|for)?\s*[A-Z0-9][\w'’.-]*)*")

@lru_cache(maxsize=16384)
def typed_spans(text: str, kind: str) -> tuple[tuple[int, int], ...]:
    """Spans in text that could answer a question of the given type (cached: the same
    sentences come up for many questions)."""
    if kind == "date":
        return tuple(_without_preposition(text, *m.span()) for m in _DATE.finditer(text))
    if kind == "quantity":
        return tuple(m.span() for m in _QUANTITY.finditer(text) if not _DATE.fullmatch(m.group(0)))
    if kind in ("name", "place"):
        return tuple(m.span() for m in _NAME.finditer(text))
    return ()


def _without_preposition(text: str, start: int, end: int) -> tuple[int, int]:
    """"in 1936" is matched whole (a bare number is no year), but the date is "1936"."""
    lead = _LEADING_PREPOSITION.match(text, start, end)
    return (lead.end(), end) if lead else (start, end)


def answer_spans(text: str, kind: str, asked) -> list[tuple[int, int]]:
    """Typed spans that say something the question does not already say."""
    return [s for s in typed_spans(text, kind) if _new_words(text[s[0]:s[1]], asked)]


def _new_words(span: str, asked) -> bool:
    words = set(terms(span))
    return bool(words) and words.isdisjoint(asked)
