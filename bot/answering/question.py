"""The question, read once: its terms, its words as written, the kind of answer it wants and
the noun a "which X" question asks for. Every answering stage reads this value."""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.terms import terms, words

_WHICH = r"\b(?:what|which)\s+(?:\w+\s+){0,3}"  # "which team", "what was the final score"
_QUESTION_TYPES = [
    ("date", re.compile(r"^\s*(?:when|what\s+(?:year|date|day|month|time|century|decade|period|era)|"
                        r"(?:in|on|by|since|until|during)\s+(?:what|which)\s+(?:year|date|day|month|century|decade))\b"
                        + r"|" + _WHICH + r"(?:year|date|century|decade)\b", re.I)),
    ("quantity", re.compile(r"\b(?:how\s+(?:many|much|long|far|old|big|large|high|tall|often|wide|deep|heavy)|"
                            + _WHICH + r"(?:percentage|percent|number|amount|proportion|size|population|score|"
                            r"age|length|height|width|depth|distance|rate|cost|price|total|temperature))\b", re.I)),
    ("name", re.compile(r"^\s*(?:who|whom|whose)\b|\bby whom\b|" + _WHICH + r"(?:person|people|man|woman|player|"
                        r"team|company|group|organi[sz]ation|party|band|author|writer|artist|leader|king|queen|"
                        r"president|emperor|general|scientist|university|school|club|agency|official|army|"
                        r"division|regiment|unit|newspaper|magazine|network|brand)\b", re.I)),
    ("place", re.compile(r"^\s*where\b|" + _WHICH + r"(?:city|country|town|place|region|state|oblast|"
                         r"province|river|county|continent|village|area|island|sea|ocean|mountain|lake|"
                         r"street|building|stadium|district|nation)\b", re.I)),
]
KINDS = ("date", "quantity", "name", "place", "other")
_FOCUS = re.compile(r"\b(?:what|which|whose|how\s+many|how\s+much)\s+((?:\w+\s+){0,2}\w+)", re.IGNORECASE)


@dataclass(frozen=True)
class Question:
    text: str
    kind: str  # one of KINDS: the kind of answer asked for
    terms: tuple[str, ...]  # stemmed content words, in order (index/terms.py)
    words: frozenset[str]  # content words as written, lowercased
    focus: frozenset[str]  # terms of the noun a "which division"/"what player" question asks for

    @property
    def term_set(self) -> frozenset[str]:
        return frozenset(self.terms)


def read_question(text: str) -> Question:
    focus = _FOCUS.search(text)
    return Question(text=text, kind=question_type(text), terms=tuple(terms(text)), words=frozenset(words(text)),
                    focus=frozenset(terms(focus.group(1))) if focus else frozenset())


def question_type(question: str) -> str:
    for name, pattern in _QUESTION_TYPES:
        if pattern.search(question):
            return name
    return "other"
