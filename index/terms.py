"""Words as the lexical side sees them: lowercased, stop words dropped, English-stemmed."""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer
from bm25s.stopwords import STOPWORDS_EN_PLUS

_WORD = re.compile(r"\w+(?:[.'’]\w+)*")
_STOP = frozenset(STOPWORDS_EN_PLUS) | {
    "did", "does", "do", "many", "much", "which", "whom", "whose", "who", "what", "when", "where", "why", "how",
}
_stemmer = Stemmer.Stemmer("english")


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return _stemmer.stemWord(word)


def terms(text: str) -> list[str]:
    return list(_terms(text))


def term_sequence(text: str) -> tuple[str, ...]:
    """terms(text) as the cached tuple itself: no copy, for callers that only read it."""
    return _terms(text)


@lru_cache(maxsize=32768)
def term_set(text: str) -> frozenset[str]:
    return frozenset(_terms(text))


@lru_cache(maxsize=32768)
def _terms(text: str) -> tuple[str, ...]:
    # Cached: the same passages' sentences are scored again for every question near them.
    return tuple(_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOP)


def words(text: str) -> set[str]:
    """Lowercased word forms as written (no stemming, no stop words)."""
    return set(_words(text))


def word_set(text: str) -> frozenset[str]:
    return _words(text)


@lru_cache(maxsize=32768)
def _words(text: str) -> frozenset[str]:
    return frozenset(w for w in _WORD.findall(text.lower()) if w not in _STOP)
