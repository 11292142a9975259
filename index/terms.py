"""Words as the lexical side sees them: lowercased, stop words dropped, English-stemmed."""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer
from bm25s.stopwords import STOPWORDS_EN

_WORD = re.compile(r"\w+(?:[.'’]\w+)*")
_STOP = frozenset(STOPWORDS_EN) | {
    "did", "does", "do", "many", "much", "which", "whom", "whose", "who", "what", "when", "where", "why", "how",
}
_stemmer = Stemmer.Stemmer("english")


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return _stemmer.stemWord(word)


def terms(text: str) -> list[str]:
    return [_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOP]
