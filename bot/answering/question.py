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
# A question after a way of doing something: in documentation the answer names a function,
# an option or a command, in code markup.
_ASKS_HOW = re.compile(r"\bhow\s+(?:do|can|to|should|would|could)\b|\bwhat\s+(?:should|do|can|must)\s+(?:i|we|you)\b"
                       r"|\bis\s+there\s+a\s+way\b|\bwhich\s+(?:function|method|option|flag|command|setting|library)\b",
                       re.IGNORECASE)
_ASKS_WHY = re.compile(r"\bwhy\b|\bwhat\s+(?:is|'s)\s+the\s+(?:reason|point)\b|\bhow\s+come\b", re.IGNORECASE)
# "when was the bridge rebuilt", "where were the Normans defeated": what the event happened to.
_PASSIVE = re.compile(r"^\s*(?:when|where|how|why|in\s+what\s+\w+|in\s+which\s+\w+)\s+(?:was|were|is|are|has\s+been|had\s+been)\s+"
                      r"(?P<patient>(?:[\w'’.-]+\s+){0,5}?[\w'’.-]+)\s+(?P<event>\w+(?:ed|en|t)|born|held|built|won|lost|made|sold|shot|hit|set)\b", re.IGNORECASE)
# "when did the council rebuild the Old Bridge": the event and what it happened to.
_ACTIVE = re.compile(r"^\s*(?i:when|where|how|why)\s+(?i:did|does|do)\s+(?:[\w'’.-]+\s+){1,4}?(?P<event>\w+)\s+"
                     r"(?P<patient>(?:the\s+)?[A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*)*)\s*\??\s*$")
_FOCUS = re.compile(r"\b(?:what|which|whose|how\s+many|how\s+much)\s+((?:\w+\s+){0,2}\w+)", re.IGNORECASE)


@dataclass(frozen=True)
class Question:
    text: str
    kind: str  # one of KINDS: the kind of answer asked for
    terms: tuple[str, ...]  # stemmed content words, in order (index/terms.py)
    words: frozenset[str]  # content words as written, lowercased
    focus: frozenset[str]  # terms of the noun a "which division"/"what player" question asks for
    asks_how: bool = False  # after a way to do something ("how do I …", "what should I use")
    asks_why: bool = False  # after a reason
    event: str = ""  # the term of the event asked about ("rebuilt"), when the question names what it happened to
    patient: frozenset[str] = frozenset()  # terms of what it happened to ("bridg")

    @property
    def term_set(self) -> frozenset[str]:
        return frozenset(self.terms)


def read_question(text: str) -> Question:
    focus = _FOCUS.search(text)
    event = _PASSIVE.search(text) or _ACTIVE.search(text)
    event_terms = terms(event.group("event")) if event else []
    patient_terms = frozenset(terms(event.group("patient"))) if event else frozenset()
    return Question(text=text, kind=question_type(text), terms=tuple(terms(text)), words=frozenset(words(text)),
                    focus=frozenset(terms(focus.group(1))) if focus else frozenset(),
                    asks_how=bool(_ASKS_HOW.search(text)), asks_why=bool(_ASKS_WHY.search(text)),
                    event=event_terms[0] if event_terms and patient_terms else "",
                    patient=patient_terms if event_terms else frozenset())


def question_type(question: str) -> str:
    for name, pattern in _QUESTION_TYPES:
        if pattern.search(question):
            return name
    return "other"
